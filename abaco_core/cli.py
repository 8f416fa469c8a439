"""The ``abaco`` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from .auth import check_auth_settings
from .auth_cli import add_auth_options, add_token_commands, auth_banner, auth_overrides
from .errors import AbacoError, ConfigError

__all__ = ["main"]

log = logging.getLogger("abaco")


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (ABACO_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (ABACO_PORT, default 8000)")
    parser.add_argument("--data-dir", help="where the embedded store and queue live (ABACO_DATA_DIR)")
    parser.add_argument(
        "--backend", help="container backend: auto, docker, podman, ... (ABACO_BACKEND, default auto)"
    )
    parser.add_argument("--database-url", help="store URL, overrides the SQLite file (ABACO_DATABASE_URL)")
    parser.add_argument("--config", help="a TOML settings file (ABACO_CONFIG)")
    parser.add_argument("--log-level", default=os.environ.get("ABACO_LOG_LEVEL", "INFO"))
    add_auth_options(parser)


def _up(args: argparse.Namespace) -> int:
    from .api.app import create_app
    from .platform import build_platform
    from .plugins import build_plugin_manager, settings_from

    if args.config:
        os.environ["ABACO_CONFIG"] = args.config
    pm = build_plugin_manager()
    settings = settings_from(
        pm,
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        backend=args.backend,
        database_url=args.database_url,
        **auth_overrides(args),
    )
    check_auth_settings(settings)
    os.makedirs(settings.data_dir, exist_ok=True)
    lock = _lock_data_dir(settings.data_dir)
    platform = build_platform(settings, pm)
    app = create_app(platform, name="abaco", touchup=True)  # before start: a bad auth setup stops here
    platform.start()
    desc = platform.describe()

    @app.after_server_start
    async def _announce(app) -> None:
        print(
            f"abaco {settings.version} listening on http://{settings.host}:{settings.port} "
            f"(backend {desc['backend']} at {desc['location']}; store {desc['store']}; queue {desc['queue']}; "
            f"data dir {settings.data_dir}). Press Ctrl-C to stop.",
            flush=True,
        )
        print(auth_banner(settings, platform.store), flush=True)

    try:
        app.run(
            host=settings.host,
            port=settings.port,
            single_process=True,
            access_log=False,
            motd=False,
            debug=False,
        )
    except OSError as exc:
        raise ConfigError(f"cannot listen on {settings.host}:{settings.port}: {exc}") from None
    finally:
        print("abaco: stopping workers...", flush=True)
        platform.stop()
        print("abaco: stopped.", flush=True)
        del lock
    return 0


def _lock_data_dir(data_dir: str) -> object:
    """One ``abaco up`` per data dir: a second one would take the first one's work away
    (its recovery removes the containers and workers it finds)."""
    import fcntl

    handle = open(os.path.join(data_dir, "abaco.lock"), "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise ConfigError(f"another abaco is running on the data dir {data_dir}") from None
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abaco", description="Actors as a service.")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the whole platform in one process (API, queue, workers, store)")
    _add_server_options(up)
    up.set_defaults(func=_up)
    add_token_commands(sub)
    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=lambda _a: print(__import__("abaco_core").__version__) or 0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(args, "log_level", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except AbacoError as exc:
        print(f"abaco: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
