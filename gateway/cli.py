"""The ``gateway`` command: ``serve``, ``migrate``, ``keys``, ``verify``, ``models``, ``activity``, ``config``."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence

from gateway import cli_activity, cli_config, cli_keys, cli_ops
from gateway.cli_keys import CliError
from gateway.config import ConfigError, load_config
from gateway.settings import Settings

log = logging.getLogger("gateway")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_exposure(settings: Settings, host: str, allow_unauthenticated: bool) -> None:
    """Without any key, serve only on loopback (unless explicitly allowed)."""
    from gateway.store.db import create_engine_for
    from gateway.store.keys import KeyStore

    if settings.master_key is not None or KeyStore(create_engine_for(settings.database_url)).all():
        return
    if is_loopback(host):
        log.warning("no GATEWAY_MASTER_KEY and no gateway keys: serving WITHOUT authentication, on loopback only")
        return
    if not allow_unauthenticated:
        raise CliError(f"refusing to serve on {host} without authentication: set GATEWAY_MASTER_KEY or create a key "
                       "(`gateway keys create`), or pass --allow-unauthenticated")
    log.warning("serving on %s WITHOUT authentication (--allow-unauthenticated)", host)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.store.db import run_migrations

    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    load_config(settings.config, settings.env())
    run_migrations(settings.database_url)
    _check_exposure(settings, host, args.allow_unauthenticated)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gateway-metrics-")
    log.info("serving on http://%s:%s with %d worker(s)", host, port, workers)
    uvicorn.run("gateway.app:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level=settings.log_level, access_log=False)
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.store.db import run_migrations

    run_migrations(settings.database_url)
    print(f"database is at the latest schema: {settings.database_url.split('@')[-1]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description="OpenAI-compatible AI gateway")
    parser.add_argument("--debug", action="store_true", help="show the traceback of unexpected errors")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--allow-unauthenticated", action="store_true",
                       help="serve on a non-loopback address with no key configured")
    serve.set_defaults(handler=_serve)
    migrate = commands.add_parser("migrate", help="bring the database to the latest schema")
    migrate.set_defaults(handler=_migrate)
    cli_keys.add_parser(commands)
    cli_ops.add_parser(commands)
    cli_activity.add_parser(commands)
    cli_config.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "httpx", "httpcore"):  # httpx logs every upstream request at INFO
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = Settings.load()
        code: int = args.handler(settings, args)
    except (ConfigError, CliError) as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gateway: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        first_line = (str(exc).strip().splitlines() or [""])[0]
        hint = "" if args.debug else " (--debug shows the traceback)"
        print(f"gateway: unexpected error: {type(exc).__name__}: {first_line}{hint}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
