"""``gateway config check``: validate the config file and report every problem, and where.

The report is ``gateway.config_report``'s, the same ``gateway serve`` runs before it serves:
YAML syntax, every schema problem, unset environment variables, unknown providers, fallbacks
that resolve to nothing, parameters a provider does not honour and missing credentials, each
as ``file:line: path: message``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.callers.registry import load_registry
from gateway.cli_keys import CliError
from gateway.config_report import ConfigReport, check_config
from gateway.settings import Settings


def report(path: Path | None, settings: Settings) -> ConfigReport:
    """The complete report for ``path`` with the server's registry and environment."""
    return check_config(path, load_registry(), settings.env())


def print_problems(config_report: ConfigReport, consequence: str = "") -> bool:
    """Print every problem and warning, then the count (and, if it has problems, ``consequence``), to
    stderr; whether any problem stops serving."""
    if not config_report.problems:
        return False
    print(config_report.text() + ("" if config_report.ok else consequence), file=sys.stderr)
    return not config_report.ok


def _check(settings: Settings, args: argparse.Namespace) -> int:
    path: Path | None = Path(args.file) if args.file else settings.config
    if path is None:
        raise CliError("no config file to check: set GATEWAY_CONFIG or pass --file PATH")
    checked = report(path, settings)
    if print_problems(checked):
        return 2
    config = checked.config
    providers = {name for name in config.providers} | {alias.provider for alias in config.models}
    print(f"ok: {len(config.models)} aliases, {len(providers)} providers")
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = commands.add_parser("config", help="configuration file tools")
    sub = config.add_subparsers(dest="config_command", required=True)
    check = sub.add_parser("check", help="validate the config file and report every problem")
    check.add_argument("--file", help="the file to check (default: GATEWAY_CONFIG)")
    check.set_defaults(handler=_check)
