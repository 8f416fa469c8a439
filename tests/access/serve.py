"""A test API server: the real app, store, queue and authentication pipeline, the fake
container backend, and the test-only ``test-header`` authentication method
(:mod:`tests.access.header_auth`), registered as a plugin and chosen by ``ABACO_AUTH``.

Run as ``ABACO_AUTH=test-header python -m tests.access.serve --port N --data-dir D`` (settings
from ``ABACO_*``, as ``tests/access/conftest.py`` does). The header identity lives in the tests
and never in the product: the product's methods (none, tokens, JWT) are tested on their own.
"""

from __future__ import annotations

import argparse
import os

from abaco_core.api.app import create_app
from abaco_core.platform import build_platform
from abaco_core.plugins import build_plugin_manager, settings_from
from tests.access import header_auth


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args()
    pm = build_plugin_manager(extra=[header_auth])
    settings = settings_from(pm, port=args.port, data_dir=args.data_dir, backend="fake")
    os.makedirs(settings.data_dir, exist_ok=True)
    platform = build_platform(settings, pm)
    platform.start()
    app = create_app(platform, name="abaco_access_test")
    try:
        app.run(host="127.0.0.1", port=args.port, single_process=True, access_log=False, motd=False)
    finally:
        platform.stop()


if __name__ == "__main__":
    main()
