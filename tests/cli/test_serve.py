"""``gateway serve``: migrations run once, before the workers start (which then skip them), and the
start-up line says where the dashboard and the API reference are."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from gateway import cli


@pytest.fixture
def clean_env(bare_environment: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    database = bare_environment / "serve.db"
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{database}")
    return database


def _tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_serve_migrates_once_and_tells_the_workers_not_to(clean_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def run(app: str, **kwargs: Any) -> None:
        seen["migrate"] = os.environ.get("GATEWAY_MIGRATE_ON_START")
        seen["tables"] = _tables(clean_env)

    monkeypatch.setattr(uvicorn, "run", run)
    with caplog.at_level(logging.INFO, logger="gateway"):
        assert cli.main(["serve", "--port", "8123"]) == 0
    assert seen["migrate"] == "false"
    assert {"request_records", "api_keys"} <= seen["tables"]
    assert "GATEWAY_MIGRATE_ON_START" not in os.environ, "the workers' setting does not leak past serve"
    assert ("serving on http://127.0.0.1:8123 with 1 worker(s): dashboard http://127.0.0.1:8123/dashboard, "
            "API reference http://127.0.0.1:8123/docs") in caplog.text


def test_serve_does_not_migrate_when_told_not_to(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setenv("GATEWAY_MIGRATE_ON_START", "false")
    monkeypatch.setattr(uvicorn, "run", lambda *_, **__: None)
    migrations: list[str] = []
    monkeypatch.setattr("gateway.store.db.run_migrations", migrations.append)
    monkeypatch.setattr(cli, "_check_exposure", lambda *_: None)
    assert cli.main(["serve"]) == 0
    assert migrations == []
    assert os.environ["GATEWAY_MIGRATE_ON_START"] == "false"
