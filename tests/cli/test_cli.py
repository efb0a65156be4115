"""The operator's commands through ``gateway.cli.main`` (and one real process for ``--tail``),
against the fake OpenAI upstream and a temporary SQLite database."""

from __future__ import annotations

import datetime as dt
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from gateway import cli, cli_ops
from gateway.core.metrics import STATUS_FAILED, STATUS_SUCCESS
from gateway.store.db import create_engine_for, run_migrations
from gateway.store.models import RECORDS
from gateway.store.records import RequestRecord
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI

CONFIG = """\
providers:
  openai:
    models: [gpt-4o]
models:
  - name: fast
    model: openai/gpt-4o-mini
    parameters: {model.temperature: 0.2}
  - name: claude
    model: anthropic/claude-haiku-4-5
    fallbacks: [fast]
"""


class Cli:
    def __init__(self, tmp_path: Path, fake: FakeOpenAI, capsys: pytest.CaptureFixture[str]) -> None:
        self.tmp_path, self.fake, self._capsys = tmp_path, fake, capsys
        self.database_url = f"sqlite:///{tmp_path / 'cli.db'}"

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        self._capsys.readouterr()
        code = cli.main(list(argv))
        out, err = self._capsys.readouterr()
        return code, out, err

    def config(self, text: str = CONFIG, name: str = "gateway.yaml") -> Path:
        path = self.tmp_path / name
        path.write_text(text)
        return path


@pytest.fixture
def run(bare_environment: Path, fake_openai: FakeOpenAI, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``main`` with a clean environment: only the fake OpenAI credential and a temporary database."""
    tmp_path = bare_environment
    runner = Cli(tmp_path, fake_openai, capsys)
    monkeypatch.setenv("OPENAI_API_KEY", VALID_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.url + "/v1")
    monkeypatch.setenv("GATEWAY_DATABASE_URL", runner.database_url)
    return runner


def test_verify_accepts_the_configured_credential_with_the_free_call(run: Cli) -> None:
    code, out, err = run("verify", "openai")
    assert (code, out) == (0, "openai: valid (the credential was accepted.)\n")
    assert "checking openai" in err
    assert [(r.method, r.path) for r in run.fake.requests] == [("GET", "/v1/models")]


def test_verify_reports_a_refused_credential(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    code, out, _ = run("verify", "openai")
    assert code == 1
    assert out.startswith("openai: invalid: ") and "Incorrect API key" in out


@pytest.mark.parametrize(("argv", "message"), [
    (("verify", "nope"), "gateway: unknown provider 'nope' (registered: anthropic, "),
    (("verify", "anthropic"), "gateway: anthropic: no credential configured (set ANTHROPIC_API_KEY, "),
])
def test_verify_usage_errors_are_one_line_with_status_2(run: Cli, argv: tuple[str, ...], message: str) -> None:
    code, out, err = run(*argv)
    assert (code, out) == (2, "")
    assert err.startswith(message) and err.count("\n") == 1


def test_models_lists_aliases_and_listed_models_with_reachability(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_CONFIG", str(run.config()))
    code, out, err = run("models")
    assert code == 0
    lines = [line.split() for line in out.splitlines() if line.strip()]
    assert lines[0] == ["MODEL", "PROVIDER", "REACHABLE", "DETAIL"]
    assert lines[1][:3] == ["fast", "openai", "yes"]
    assert lines[2][:3] == ["claude", "anthropic", "unknown"]
    assert lines[3][:3] == ["openai/gpt-4o", "openai", "yes"]
    assert lines[4] == ["PROVIDER", "CREDENTIAL", "REACHABLE", "DETAIL"]
    assert lines[5][:4] == ["anthropic", "no", "unknown", "set"]
    assert lines[6][:3] == ["openai", "yes", "yes"]
    assert "checking 2 credential(s)" in err and "openai: yes" in err
    assert {(r.method, r.path) for r in run.fake.requests} == {("GET", "/v1/models")}, "only the free call"


def test_models_without_checks_calls_nobody(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_CONFIG", str(run.config()))
    code, out, _ = run("models", "--no-check")
    assert code == 0 and "fast" in out and "not checked" in out
    assert run.fake.requests == []


def test_models_with_nothing_configured(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    code, out, _ = run("models")
    assert code == 0
    assert "no models configured" in out and "no provider has credentials configured" in out


def test_config_check_ok(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    code, out, err = run("config", "check", "--file", str(run.config()))
    assert (code, out, err) == (0, "ok: 2 aliases, 2 providers\n", "")


def test_config_check_uses_gateway_config(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("GATEWAY_CONFIG", str(run.config()))
    assert run("config", "check")[:2] == (0, "ok: 2 aliases, 2 providers\n")


def test_config_check_reports_every_problem_and_where(run: Cli) -> None:
    path = run.config("""\
providers:
  acme: {}
models:
  - name: fast
    model: openai/gpt-4o-mini
    parameters: {model.temperature: 0.2, model.safe_prompt: true}
    fallbacks: [nowhere, mystery/model]
  - name: claude
    model: anthropic/claude-haiku-4-5
  - name: odd
    model: acme/thing
""")
    code, out, err = run("config", "check", "--file", str(path))
    assert (code, out) == (2, "")
    expected = [
        ":2: providers.acme: unknown provider 'acme' (registered: anthropic, ",
        ":6: models[0].parameters['model.safe_prompt']: provider 'openai' does not honour this parameter",
        ":7: models[0].fallbacks[0]: fallback 'nowhere' is neither a model alias nor 'provider/upstream-model'",
        ":7: models[0].fallbacks[1]: fallback 'mystery/model': unknown provider 'mystery' (registered: ",
        ":8: models[1]: warning: missing credential 'key' for provider 'anthropic' (set ANTHROPIC_API_KEY",
        ":11: models[2].model: unknown provider 'acme'",
        ": 5 problem(s), 1 warning(s)",
    ]
    problems = err.splitlines()
    assert len(problems) == len(expected)
    for line, fragment in zip(problems, expected, strict=True):
        assert line.startswith(f"{path}{fragment}")


def test_config_check_schema_errors_name_file_and_path(run: Cli) -> None:
    path = run.config("models:\n  - name: fast\n    model: gpt-4o\nprices:\n  openai/gpt-4o: {input: -1, output: 1}\n")
    code, out, err = run("config", "check", "--file", str(path))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"{path}:3: models[0].model: must be 'provider/upstream-model', e.g. 'openai/gpt-4o-mini'",
        f"{path}:5: prices.openai/gpt-4o.input: Input should be greater than or equal to 0",
        f"{path}: 2 problem(s)",
    ]


def test_config_check_without_a_file(run: Cli) -> None:
    code, _, err = run("config", "check")
    assert code == 2 and err == "gateway: no config file to check: set GATEWAY_CONFIG or pass --file PATH\n"


def test_unexpected_errors_are_one_line_unless_debug(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_: object) -> None:
        raise RuntimeError("kaboom\nwith a second line")

    monkeypatch.setattr(cli_ops, "build_router", explode)
    code, _, err = run("models")
    assert (code, err) == (1, "gateway: unexpected error: RuntimeError: kaboom (--debug shows the traceback)\n")
    code, _, err = run("--debug", "models")
    assert code == 1 and "Traceback (most recent call last)" in err
    assert err.endswith("gateway: unexpected error: RuntimeError: kaboom\n")


def record(record_id: int, *, status: str = STATUS_SUCCESS, model: str = "openai/gpt-4o-mini",
           cost: Decimal | None = Decimal("0.000005625000")) -> RequestRecord:
    failed = status == STATUS_FAILED
    return RequestRecord(
        id=record_id, request_id=f"req-{record_id}", created_at=dt.datetime.now(dt.UTC), endpoint="chat.completions",
        provider="openai", model_requested=model, model_answered="gpt-4o-mini-2024-07-18", stream=False,
        status=status, http_status=502 if failed else 200, time_taken_ms=123.4, metrics=[],
        input_tokens=None if failed else 11, output_tokens=None if failed else 7, total_tokens=None if failed else 18,
        cost=None if failed else cost)


def insert(database_url: str, *records: RequestRecord) -> None:
    engine = create_engine_for(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(RECORDS.insert(), [r.as_row() for r in records])
    finally:
        engine.dispose()


def test_activity_limit_shows_the_newest_records_oldest_first(run: Cli) -> None:
    run_migrations(run.database_url)
    insert(run.database_url, record(101), record(102, status=STATUS_FAILED), record(103, model="fast"))
    code, out, _ = run("activity", "--limit", "2")
    assert code == 0
    header, *lines = out.splitlines()
    assert header.split()[:3] == ["TIME", "(UTC)", "STATUS"]
    assert [line.split()[2:] for line in lines] == [
        ["FAILED", "openai", "openai/gpt-4o-mini", "502", "123", "-", "-"],
        ["SUCCESS", "openai", "fast", "200", "123", "18", "0.000005625"],
    ]


def test_activity_needs_a_migrated_database(run: Cli) -> None:
    code, out, err = run("activity")
    assert (code, out) == (2, "")
    assert "has no request_records table (run `gateway migrate`" in err


def test_activity_limit_is_bounded(run: Cli) -> None:
    assert run("activity", "--limit", "0")[0] == 2


def _lines(stream: Iterator[str], sink: queue.Queue[str]) -> None:
    for line in stream:
        sink.put(line)


def _next_line(lines: queue.Queue[str], timeout: float = 15.0) -> str:
    return lines.get(timeout=timeout)


def test_activity_tail_follows_new_records_until_ctrl_c(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'tail.db'}"
    run_migrations(database_url)
    insert(database_url, record(201))
    env = {**os.environ, "GATEWAY_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "activity", "--tail", "--limit", "1", "--interval", "0.1"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    out: queue.Queue[str] = queue.Queue()
    err: queue.Queue[str] = queue.Queue()
    for stream, sink in ((process.stdout, out), (process.stderr, err)):
        threading.Thread(target=_lines, args=(stream, sink), daemon=True).start()
    try:
        assert _next_line(out).startswith("TIME (UTC)")
        first = _next_line(out)
        assert "SUCCESS" in first and "0.000005625" in first
        while "following new records" not in _next_line(err):
            pass
        insert(database_url, record(202, model="fast"), record(203, status=STATUS_FAILED))
        followed = [_next_line(out), _next_line(out)]
        assert [line.split()[2] for line in followed] == ["SUCCESS", "FAILED"]
        assert "fast" in followed[0]
        time.sleep(0.3)
        assert out.empty(), "each record is printed once"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_verify_reports_an_unreachable_provider(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    code, out, _ = run("verify", "openai")
    assert code == 1 and out.startswith("openai: unreachable: ")
