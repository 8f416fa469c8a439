"""The command line of authentication: the server options ``--auth`` and
``--allow-public-none``, and ``abaco token create | list | revoke``.

The token commands open the store the server uses (same settings: ``ABACO_DATA_DIR``,
``ABACO_DATABASE_URL``, ``ABACO_CONFIG``, or the flags), migrating it when needed, so they
work before the first ``abaco up`` and while it runs.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .interfaces import Store
from .settings import Settings
from .tokens import ROLES, create_token, list_tokens, revoke_token

__all__ = ["add_auth_options", "add_token_commands", "auth_banner", "auth_overrides"]


def add_auth_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--auth",
        help="authentication methods tried in order, comma-separated: none, token, jwt (ABACO_AUTH; "
        "default none on a loopback address, token on any other)",
    )
    parser.add_argument(
        "--allow-public-none",
        action="store_true",
        default=None,
        help="serve a non-loopback address with ABACO_AUTH=none, where every caller is an admin "
        "(ABACO_ALLOW_PUBLIC_NONE)",
    )


def auth_overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {"auth": args.auth, "allow_public_none": args.allow_public_none}


def auth_banner(settings: Settings, store: Store) -> str:
    """How a server authenticates, said when it starts, with a hint when no token exists yet."""
    names = settings.auth_methods
    line = f"abaco: authentication {','.join(names)}"
    if names == ["none"]:
        return f"{line}: every request acts as {settings.user!r} (an admin)."
    if "token" in names and not any(not r.get("revoked") for r in list_tokens(store)):
        line += " (no API token yet: abaco token create --user USER --role admin|privileged|basic)"
    return line + "."


def add_token_commands(sub: argparse._SubParsersAction) -> None:
    token = sub.add_parser("token", help="create, list and revoke API tokens (ABACO_AUTH=token)")
    commands = token.add_subparsers(dest="token_command", required=True)

    create = commands.add_parser("create", help="create a token; it is printed alone on the last line")
    create.add_argument("--user", required=True, help="the user the token authenticates")
    create.add_argument("--role", required=True, choices=ROLES, help="the user's role")
    create.add_argument("--tenant", help="the user's tenant (default ABACO_TENANT)")
    create.add_argument("--description", default="", help="a note shown by abaco token list")
    create.set_defaults(func=_create)

    listing = commands.add_parser("list", help="list the tokens (never their secret part)")
    listing.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    listing.set_defaults(func=_list)

    revoke = commands.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id", help="the token id, as abaco token list shows it")
    revoke.set_defaults(func=_revoke)

    for command in (create, listing, revoke):
        command.add_argument("--data-dir", help="the server's data dir (ABACO_DATA_DIR)")
        command.add_argument("--database-url", help="the server's store URL (ABACO_DATABASE_URL)")
        command.add_argument("--config", help="a TOML settings file (ABACO_CONFIG)")


@contextmanager
def _store(args: argparse.Namespace) -> Iterator[tuple[Settings, Store]]:
    from .plugins import build_plugin_manager, choose_store, settings_from

    if args.config:
        os.environ["ABACO_CONFIG"] = args.config
    pm = build_plugin_manager()
    settings = settings_from(pm, data_dir=args.data_dir, database_url=args.database_url)
    if not settings.database_url:
        os.makedirs(settings.data_dir, exist_ok=True)
    store = choose_store(pm, settings).factory(settings)
    try:
        store.migrate()
        yield settings, store
    finally:
        store.close()


def _create(args: argparse.Namespace) -> int:
    with _store(args) as (settings, store):
        token, record = create_token(
            store,
            user=args.user,
            role=args.role,
            tenant=args.tenant or settings.tenant,
            description=args.description,
        )
    print(
        f"Created token {record['id']} for user {record['user']} of tenant {record['tenant']} "
        f"(role {record['role']}). It is shown only this once; send it as 'Authorization: Bearer <token>'."
    )
    print(token)
    return 0


def _list(args: argparse.Namespace) -> int:
    with _store(args) as (_settings, store):
        records = list_tokens(store)
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    columns = ("id", "user", "tenant", "role", "created", "revoked", "description")
    rows = [[str(r.get(c) or ("-" if c == "revoked" else "")) for c in columns] for r in records]
    widths = [max([len(c), *(len(row[i]) for row in rows)]) for i, c in enumerate(columns)]
    for row in [[c.upper() for c in columns], *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _revoke(args: argparse.Namespace) -> int:
    with _store(args) as (_settings, store):
        record = revoke_token(store, args.id)
    print(
        f"Token {record['id']} of user {record['user']} (tenant {record['tenant']}) revoked at {record['revoked']}."
    )
    return 0
