"""The ``gateway`` command: ``serve``, ``migrate``, ``keys``, ``verify``, ``models``, ``activity``, ``config``."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Iterator, Sequence

from gateway import cli_activity, cli_config, cli_keys, cli_ops
from gateway.cli_keys import CliError
from gateway.config import ConfigError
from gateway.log_setup import configure_logging, uvicorn_log_options
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
    """Log the auth mode the gateway will start in; raises ``CliError`` when authentication
    is off and ``host`` is not loopback, unless ``allow_unauthenticated``."""
    mode = cli_keys.auth_mode(settings)
    loopback = is_loopback(host)
    if not mode.required and not loopback and not allow_unauthenticated:
        raise CliError(f"refusing to serve on {host} without authentication: set GATEWAY_MASTER_KEY (e.g. in .env), "
                       "or pass --allow-unauthenticated")
    mode.announce("serving on loopback only" if loopback else
                  f"serving on {host} to anyone who can reach it (--allow-unauthenticated)")


@contextlib.contextmanager
def _worker_environment(**values: str) -> Iterator[None]:
    """Set environment variables for the server's workers (spawned processes read them at start),
    restoring the previous values afterwards."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.store.db import run_migrations

    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    if cli_config.print_problems(cli_config.report(settings.config, settings), "; not serving"):
        return 2
    if settings.migrate_on_start:
        run_migrations(settings.database_url)
    _check_exposure(settings, host, args.allow_unauthenticated)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gateway-metrics-")
    base = f"http://{host}:{port}"
    log.info("serving on %s with %d worker(s): dashboard %s/dashboard, API reference %s/docs",
             base, workers, base, base)
    with _worker_environment(GATEWAY_MIGRATE_ON_START="false"):  # migrated once above, not in every worker
        uvicorn.run("gateway.app:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                    limit_concurrency=settings.max_concurrency or None,
                    **uvicorn_log_options(settings.log_level, settings.log_format))
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
    try:
        settings = Settings.load()
        configure_logging(settings.log_level, settings.log_format)
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
