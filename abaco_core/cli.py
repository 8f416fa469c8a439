"""The ``abaco`` command.

``abaco up`` runs the whole platform in one process. A cluster runs the same pieces split by
role, each in its own processes: ``abaco api`` (the HTTP API), ``abaco worker`` (on every host
with a container engine: consumes spawner commands and runs the worker threads) and ``abaco
scheduler`` (autoscaler, health pass, housekeeping, cron), sharing Redis (``ABACO_REDIS_URL``)
and PostgreSQL (``ABACO_DATABASE_URL``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

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


def _add_cluster_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="where this process keeps its files (ABACO_DATA_DIR)")
    parser.add_argument("--database-url", help="the shared store, postgresql://... (ABACO_DATABASE_URL)")
    parser.add_argument("--config", help="a TOML settings file (ABACO_CONFIG)")
    parser.add_argument("--log-level", default=os.environ.get("ABACO_LOG_LEVEL", "INFO"))


def _settings(args: argparse.Namespace, **overrides: Any) -> tuple[Any, Any]:
    from .plugins import build_plugin_manager, settings_from

    if args.config:
        os.environ["ABACO_CONFIG"] = args.config
    pm = build_plugin_manager()
    if hasattr(args, "auth"):  # the commands that serve the API take the authentication options
        overrides.update(auth_overrides(args))
    settings = settings_from(pm, data_dir=args.data_dir, database_url=args.database_url, **overrides)
    return pm, settings


def check_cluster(pm: Any, settings: Any, role: str) -> Any:
    """Refuse settings a cluster process cannot work with (one line, exit code 2); the
    settings as the process is to use them.

    Webhooks to private addresses are off unless ``ABACO_WEBHOOK_ALLOW_PRIVATE`` says
    otherwise: their default follows the authentication method, which the scheduler that
    delivers them does not know (it serves no API)."""
    from .plugins import choose_queue

    info = choose_queue(pm, settings)
    if info.commands is None:
        raise ConfigError(
            f"abaco {role} runs beside other processes, but the {info.name!r} queue serves one process only: "
            "set ABACO_REDIS_URL=redis://host:6379/0 and ABACO_QUEUE=rq (or leave ABACO_QUEUE unset), "
            "or run everything in one process with abaco up"
        )
    url = settings.resolved_database_url
    if not settings.database_url or url.startswith("sqlite"):
        if not settings.database_url:
            raise ConfigError(
                f"abaco {role} needs the store every process shares: set ABACO_DATABASE_URL=postgresql://... "
                "(without it each process would keep its own SQLite file)"
            )
        log.warning("abaco %s on SQLite (%s): every process of the platform must run on this host", role, url)
    if settings.webhook_allow_private is None:
        settings = dataclasses.replace(settings, webhook_allow_private=False)
    return settings


def _up(args: argparse.Namespace) -> int:
    from .api.app import create_app
    from .platform import build_platform

    pm, settings = _settings(args, host=args.host, port=args.port, backend=args.backend)
    check_auth_settings(settings)
    os.makedirs(settings.data_dir, exist_ok=True)
    lock = _lock_data_dir(settings.data_dir)
    platform = build_platform(settings, pm)
    app = create_app(platform, name="abaco", touchup=True)  # before start: a bad auth setup stops here
    platform.start()
    desc = platform.describe()

    banner = (
        f"abaco {settings.version} listening on http://{settings.host}:{settings.port} "
        f"(backend {desc['backend']} at {desc['location']}; store {desc['store']}; queue {desc['queue']}; "
        f"data dir {settings.data_dir}). Press Ctrl-C to stop."
    )
    try:
        _serve(app, platform, banner)
    finally:
        print("abaco: stopping workers...", flush=True)
        platform.stop()
        print("abaco: stopped.", flush=True)
        del lock
    return 0


def _serve(app: Any, platform: Any, banner: str) -> None:
    """Serve the API in this process until Ctrl-C; say where it listens and how it
    authenticates once it does."""
    settings = platform.settings

    @app.after_server_start
    async def _announce(app: Any) -> None:
        print(banner, flush=True)
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


def _api(args: argparse.Namespace) -> int:
    """The HTTP API alone: it writes records and queues, and sends spawner commands."""
    from .api.app import create_app
    from .platform import build_platform

    pm, settings = _settings(args, host=args.host, port=args.port)
    check_auth_settings(settings)
    settings = check_cluster(pm, settings, "api")
    platform = build_platform(settings, pm, with_backend=False)
    app = create_app(platform, name="abaco_api", touchup=True)  # before start: a bad auth setup stops here
    platform.start({"api"})
    desc = platform.describe()

    banner = (
        f"abaco api {settings.version} listening on http://{settings.host}:{settings.port} "
        f"(store {desc['store']}; queue {desc['queue']})."
    )
    try:
        _serve(app, platform, banner)
    finally:
        platform.stop()
    return 0


def _worker(args: argparse.Namespace) -> int:
    """Consume the spawner commands of some queues and run their workers, in threads."""
    from .platform import build_platform

    overrides: dict[str, Any] = {"backend": args.backend}
    if args.queue:
        overrides["host_queues"] = args.queue
    pm, settings = _settings(args, **overrides)
    settings = check_cluster(pm, settings, "worker")
    os.makedirs(settings.data_dir, exist_ok=True)
    platform = build_platform(settings, pm)
    platform.start({"worker"})
    desc = platform.describe()
    print(
        f"abaco worker {settings.version} serving queue(s) {', '.join(settings.host_queues)} "
        f"(backend {desc['backend']} at {desc['location']}; queue {desc['queue']}).",
        flush=True,
    )
    try:
        platform.serve_commands()  # until SIGINT/SIGTERM
    finally:
        print("abaco worker: stopping workers...", flush=True)
        platform.stop()
        print("abaco worker: stopped.", flush=True)
    return 0


def _scheduler(args: argparse.Namespace) -> int:
    """Autoscaler, health pass, housekeeping and cron for the whole platform."""
    from .platform import build_platform

    pm, settings = _settings(args)
    settings = check_cluster(pm, settings, "scheduler")
    platform = build_platform(settings, pm, with_backend=False)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    platform.start({"scheduler"})
    print(f"abaco scheduler {settings.version} running (queue {platform.describe()['queue']}).", flush=True)
    try:
        stop.wait()
    finally:
        platform.stop()
        print("abaco scheduler: stopped.", flush=True)
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

    api = sub.add_parser("api", help="cluster: the HTTP API (any number, behind a load balancer)")
    api.add_argument("--host", help="address to listen on (ABACO_HOST, default 127.0.0.1)")
    api.add_argument("--port", type=int, help="port to listen on (ABACO_PORT, default 8000)")
    _add_cluster_options(api)
    add_auth_options(api)
    api.set_defaults(func=_api)

    worker = sub.add_parser("worker", help="cluster: run actor workers on this host's container engine")
    worker.add_argument(
        "--queue",
        action="append",
        help="serve actors whose queue field is NAME (repeatable; ABACO_HOST_QUEUES, default 'default')",
        metavar="NAME",
    )
    worker.add_argument("--backend", help="container backend: auto, docker, podman, ... (ABACO_BACKEND)")
    _add_cluster_options(worker)
    worker.set_defaults(func=_worker)

    scheduler = sub.add_parser("scheduler", help="cluster: autoscaler, health pass, housekeeping, cron")
    _add_cluster_options(scheduler)
    scheduler.set_defaults(func=_scheduler)
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
