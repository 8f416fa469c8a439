"""A test API server: the real app, store and queue, the fake container backend, and a
*test-only* authentication step that takes the caller from request headers.

Run as ``python -m tests.access.serve --port N --data-dir D`` (settings from ``ABACO_*``).
The header identity lives here, in the tests, and never in the product: the product's
authentication methods (tokens, JWT) are tested on their own. A request without
``X-Test-User`` is "not recognised", so a nonce may authenticate it, as in production.
"""

from __future__ import annotations

import argparse
import os

from sanic import Request

import abaco_core.api.app as app_module
from abaco_core.access import Identity

USER_HEADER = "x-test-user"
ROLES_HEADER = "x-test-roles"
TENANT_HEADER = "x-test-tenant"


async def header_identity(request: Request) -> Identity | None:
    user = request.headers.get(USER_HEADER)
    if not user:
        return None
    roles = tuple(r.strip() for r in request.headers.get(ROLES_HEADER, "").split(",") if r.strip())
    tenant = request.headers.get(TENANT_HEADER) or request.app.ctx.platform.settings.tenant
    return Identity(tenant, user, roles, method="test-header")


def main() -> None:
    from abaco_core.platform import build_platform
    from abaco_core.plugins import build_plugin_manager, settings_from

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args()
    app_module.authenticate = header_identity
    pm = build_plugin_manager()
    settings = settings_from(pm, port=args.port, data_dir=args.data_dir, backend="fake")
    os.makedirs(settings.data_dir, exist_ok=True)
    platform = build_platform(settings, pm)
    platform.start()
    app = app_module.create_app(platform, name="abaco_access_test")
    try:
        app.run(host="127.0.0.1", port=args.port, single_process=True, access_log=False, motd=False)
    finally:
        platform.stop()


if __name__ == "__main__":
    main()
