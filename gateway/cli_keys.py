"""``gateway keys create|list|revoke``: key management straight on the database.

Creating a key needs ``GATEWAY_MASTER_KEY``: a key turns authentication on, and only
the master key reaches the admin routes and the dashboard. ``list`` and ``revoke``
work without it, so keys made before a master key was set can be cleaned up.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re

from gateway.service.keys import AuthMode, count_active
from gateway.settings import Settings
from gateway.store.db import create_engine_for, run_migrations
from gateway.store.keys import ApiKey, KeyStore

_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MASTER_KEY_REQUIRED = (
    "keys need a master key: without GATEWAY_MASTER_KEY a key would turn authentication on with nothing that "
    "reaches the admin routes (/v1/activity, /metrics) and the dashboard; set GATEWAY_MASTER_KEY (e.g. in .env), "
    "then create keys"
)


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def parse_expiry(value: str) -> dt.datetime:
    """``30d``, ``12h``, ``90m``, ``2w`` from now, or an ISO 8601 date/datetime (UTC if naive)."""
    match = _RELATIVE.match(value.strip())
    if match:
        return dt.datetime.now(dt.UTC) + dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise CliError(f"--expires: '{value}' is neither like 30d/12h/90m/2w nor an ISO date") from None
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    if when <= dt.datetime.now(dt.UTC):
        raise CliError(f"--expires: {when.isoformat()} is in the past")
    return when


def positive_int(value: str) -> int:
    """An argparse ``type``: an integer of at least 1."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number} (leave it out for no limit)")
    return number


def auth_mode(settings: Settings) -> AuthMode:
    """The mode a gateway started now would run in: the master key and the keys active in the database."""
    engine = create_engine_for(settings.database_url)
    try:
        keys = KeyStore(engine).all()
    finally:
        engine.dispose()
    return AuthMode(settings.master_key is not None, count_active(keys))


def _store(settings: Settings) -> KeyStore:
    run_migrations(settings.database_url)
    return KeyStore(create_engine_for(settings.database_url))


def _create(settings: Settings, args: argparse.Namespace) -> int:
    if settings.master_key is None:
        raise CliError(MASTER_KEY_REQUIRED)
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models is not None else None
    if models == []:
        raise CliError("--models: give at least one model name (leave --models out to allow every model)")
    expires = parse_expiry(args.expires) if args.expires else None
    clear, key = _store(settings).create(args.name, models=models, rpm=args.rpm, tpm=args.tpm, expires_at=expires)
    print(f"created {key.id} ({key.name})")
    print(f"key: {clear}")
    print("This is the only time the key is shown; it is stored hashed.")
    return 0


def _expiry(key: ApiKey) -> str:
    return key.expires_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ") if key.expires_at else "-"


def _list(settings: Settings, args: argparse.Namespace) -> int:
    keys = _store(settings).all()
    if not keys:
        print("no keys")
        return 0
    now = dt.datetime.now(dt.UTC)
    print(f"{'id':<18} {'name':<20} {'prefix':<12} {'state':<8} {'expires (UTC)':<17} {'rpm':>6} {'tpm':>8}  models")
    for key in keys:
        state = "revoked" if key.revoked_at else ("expired" if not key.usable(now) else "active")
        models = ",".join(sorted(key.models)) if key.models is not None else "*"
        print(f"{key.id:<18} {key.name[:20]:<20} {key.prefix:<12} {state:<8} {_expiry(key):<17} "
              f"{key.rpm or '-':>6} {key.tpm or '-':>8}  {models}")
    return 0


def _revoke(settings: Settings, args: argparse.Namespace) -> int:
    if not _store(settings).revoke(args.key_id):
        raise CliError(f"no key '{args.key_id}' (see `gateway keys list`)")
    print(f"revoked {args.key_id}")
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="manage gateway API keys",
                               description="Manage gateway API keys. `create` needs GATEWAY_MASTER_KEY; "
                                           "`list` and `revoke` work without it.")
    sub = keys.add_subparsers(dest="keys_command", required=True)
    create = sub.add_parser("create", help="create a key and print it once (needs GATEWAY_MASTER_KEY)")
    create.add_argument("--name", required=True)
    create.add_argument("--models", help="comma-separated model names the key may use (default: any)")
    create.add_argument("--rpm", type=positive_int, help="requests per minute (at least 1; default: no limit)")
    create.add_argument("--tpm", type=positive_int, help="tokens per minute (at least 1; default: no limit)")
    create.add_argument("--expires", help="30d, 12h, 90m, 2w, or an ISO date")
    create.set_defaults(handler=_create)
    sub.add_parser("list", help="list keys (never their values)").set_defaults(handler=_list)
    revoke = sub.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=_revoke)
