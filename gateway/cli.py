"""The ``gateway`` command: ``serve`` and ``migrate``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from gateway.config import ConfigError, load_config
from gateway.settings import Settings


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.store.db import run_migrations

    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    load_config(settings.config, settings.env())
    run_migrations(settings.database_url)
    logging.getLogger("gateway").info("serving on http://%s:%s with %d worker(s)", host, port, workers)
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
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(handler=_serve)
    migrate = commands.add_parser("migrate", help="bring the database to the latest schema")
    migrate.set_defaults(handler=_migrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.load()
    try:
        code: int = args.handler(settings, args)
    except ConfigError as exc:
        print(f"gateway: config error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
