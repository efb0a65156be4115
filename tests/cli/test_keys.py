"""``gateway keys`` and the auth mode ``gateway serve`` starts in, through ``gateway.cli``
against a temporary SQLite database."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import pytest

from gateway import cli
from gateway.cli_keys import CliError
from gateway.settings import Settings
from gateway.store.db import create_engine_for, run_migrations
from gateway.store.keys import KeyStore

MASTER = "master-key-for-cli-tests"
PAST = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


class Keys:
    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self._capsys, self._monkeypatch = capsys, monkeypatch
        self.database_url = f"sqlite:///{tmp_path / 'keys.db'}"
        self._store: KeyStore | None = None

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        self._capsys.readouterr()
        code = cli.main(list(argv))
        out, err = self._capsys.readouterr()
        return code, out, err

    def master_key(self, value: str | None) -> None:
        if value is None:
            self._monkeypatch.delenv("GATEWAY_MASTER_KEY", raising=False)
        else:
            self._monkeypatch.setenv("GATEWAY_MASTER_KEY", value)

    def settings(self) -> Settings:
        return Settings.load(env_file=None)

    def store(self) -> KeyStore:
        """Keys written straight to the database, as a gateway from before master keys were required did."""
        if self._store is None:
            run_migrations(self.database_url)
            self._store = KeyStore(create_engine_for(self.database_url))
        return self._store

    def listing(self) -> dict[str, dict[str, str]]:
        """``keys list`` parsed: key id -> column -> value."""
        code, out, _ = self("keys", "list")
        assert code == 0
        header, *rows = out.splitlines()
        assert header.split() == ["id", "name", "prefix", "state", "expires", "(UTC)", "rpm", "tpm", "models"]
        columns = ["id", "name", "prefix", "state", "expires", "rpm", "tpm", "models"]
        return {row.split()[0]: dict(zip(columns, row.split(), strict=True)) for row in rows}


@pytest.fixture
def keys(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Keys:
    """``main`` with no ``GATEWAY_*`` variable but a temporary database, in a directory without ``.env``."""
    monkeypatch.chdir(tmp_path)
    for variable in [name for name in os.environ if name.startswith("GATEWAY_")]:
        monkeypatch.delenv(variable)
    runner = Keys(tmp_path, capsys, monkeypatch)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", runner.database_url)
    return runner


def created_id(out: str) -> str:
    return out.split()[1]


def test_create_without_a_master_key_is_refused_and_says_what_to_do(keys: Keys) -> None:
    code, out, err = keys("keys", "create", "--name", "ci")
    assert (code, out) == (2, "")
    assert err.startswith("gateway: keys need a master key: ") and err.count("\n") == 1
    assert "set GATEWAY_MASTER_KEY (e.g. in .env), then create keys" in err
    assert "the dashboard" in err
    assert keys("keys", "list")[:2] == (0, "no keys\n")


def test_list_and_revoke_work_without_a_master_key(keys: Keys) -> None:
    keys.master_key(MASTER)
    key_id = created_id(keys("keys", "create", "--name", "old")[1])
    keys.master_key(None)
    assert keys.listing()[key_id]["state"] == "active"
    assert keys("keys", "revoke", key_id)[:2] == (0, f"revoked {key_id}\n")
    assert keys.listing()[key_id]["state"] == "revoked"


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--rpm", "-5", "argument --rpm: must be at least 1, not -5 (leave it out for no limit)"),
    ("--tpm", "0", "argument --tpm: must be at least 1, not 0 (leave it out for no limit)"),
    ("--tpm", "-1", "argument --tpm: must be at least 1, not -1 (leave it out for no limit)"),
    ("--rpm", "many", "argument --rpm: 'many' is not a whole number"),
])
def test_limits_must_be_positive_whole_numbers(keys: Keys, capsys: pytest.CaptureFixture[str], option: str,
                                               value: str, message: str) -> None:
    keys.master_key(MASTER)
    with pytest.raises(SystemExit) as exited:
        cli.main(["keys", "create", "--name", "ci", option, value])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert "usage: gateway keys create" in err and f"error: {message}\n" in err
    assert keys("keys", "list")[:2] == (0, "no keys\n")


def test_list_shows_each_keys_expiry_in_utc(keys: Keys) -> None:
    keys.master_key(MASTER)
    dated = created_id(keys("keys", "create", "--name", "dated", "--expires", "2099-01-02T03:04:05+02:00")[1])
    forever = created_id(keys("keys", "create", "--name", "forever", "--rpm", "5")[1])
    listed = keys.listing()
    assert listed[dated]["expires"] == "2099-01-02T01:04Z"
    assert listed[forever]["expires"] == "-" and listed[forever]["rpm"] == "5"


def test_an_expired_key_is_listed_as_expired_with_its_date(keys: Keys) -> None:
    key = keys.store().create("stale", expires_at=PAST)[1]
    row = keys.listing()[key.id]
    assert (row["state"], row["expires"]) == ("expired", "2020-01-01T00:00Z")


def exposure(keys: Keys, caplog: pytest.LogCaptureFixture, host: str = "127.0.0.1",
             allow_unauthenticated: bool = False) -> str:
    """The auth-mode line ``gateway serve`` logs before serving on ``host``."""
    run_migrations(keys.database_url)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="gateway"):
        cli._check_exposure(keys.settings(), host, allow_unauthenticated)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("auth: ")]
    assert len(lines) == 1, lines
    return lines[0]


def test_start_message_with_a_master_key(keys: Keys, caplog: pytest.LogCaptureFixture) -> None:
    keys.master_key(MASTER)
    assert exposure(keys, caplog, "0.0.0.0") == "auth: on — master key + no active gateway keys"
    for name in ("a", "b", "c"):
        keys("keys", "create", "--name", name)
    keys.store().create("stale", expires_at=PAST)
    assert exposure(keys, caplog) == "auth: on — master key + 3 active gateway keys"


def test_start_message_with_keys_and_no_master_key(keys: Keys, caplog: pytest.LogCaptureFixture) -> None:
    keys.store().create("old")
    keys.store().create("older")
    assert exposure(keys, caplog, "0.0.0.0") == (
        "auth: on — 2 active gateway keys and no master key (admin routes and the dashboard are unreachable: "
        "set GATEWAY_MASTER_KEY, or revoke the keys with `gateway keys revoke` and restart)")


def test_start_message_without_any_authentication(keys: Keys, caplog: pytest.LogCaptureFixture) -> None:
    assert exposure(keys, caplog) == ("auth: OFF — no master key and no active gateway keys; "
                                      "serving on loopback only")
    assert exposure(keys, caplog, "0.0.0.0", allow_unauthenticated=True) == (
        "auth: OFF — no master key and no active gateway keys; "
        "serving on 0.0.0.0 to anyone who can reach it (--allow-unauthenticated)")
    with pytest.raises(CliError, match=r"^refusing to serve on 0\.0\.0\.0 without authentication: set "
                                       r"GATEWAY_MASTER_KEY \(e\.g\. in \.env\), or pass --allow-unauthenticated$"):
        cli._check_exposure(keys.settings(), "0.0.0.0", allow_unauthenticated=False)


def test_after_revoking_every_key_the_gateway_starts_unauthenticated(keys: Keys,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    ids = [keys.store().create(name)[1].id for name in ("old", "older")]
    assert exposure(keys, caplog, "0.0.0.0").startswith("auth: on — 2 active gateway keys and no master key")
    for key_id in ids:
        assert keys("keys", "revoke", key_id)[0] == 0
    assert exposure(keys, caplog).startswith("auth: OFF — no master key and no active gateway keys")
    with pytest.raises(CliError, match=r"refusing to serve on 0\.0\.0\.0 without authentication"):
        cli._check_exposure(keys.settings(), "0.0.0.0", allow_unauthenticated=False)


def test_an_expired_key_does_not_turn_authentication_on(keys: Keys, caplog: pytest.LogCaptureFixture) -> None:
    keys.store().create("stale", expires_at=PAST)
    assert exposure(keys, caplog).startswith("auth: OFF — ")
    with pytest.raises(CliError, match=r"refusing to serve on 0\.0\.0\.0 without authentication"):
        cli._check_exposure(keys.settings(), "0.0.0.0", allow_unauthenticated=False)
