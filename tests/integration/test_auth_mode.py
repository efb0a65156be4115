"""When authentication is on, and why: only a master key or an active gateway key turns it
on; keys can be created only with a master key; every start logs the mode."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.errors import AuthenticationError, ServiceUnavailableError
from gateway.service.keys import ANONYMOUS, KeyRing
from gateway.store.db import create_engine_for, run_migrations
from gateway.store.keys import ApiKey, KeyStore, hash_key
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI

MASTER = "master-key-for-auth-mode-tests"
NOW = dt.datetime.now(dt.UTC)


def upstream(fake: FakeOpenAI) -> dict[str, str]:
    return {"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"}


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def database(tmp_path: Path) -> KeyStore:
    """The store of the database ``gateway_factory`` uses, migrated."""
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    run_migrations(url)
    return KeyStore(create_engine_for(url))


def auth_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("auth: ")]


def test_creating_a_key_without_a_master_key_is_a_409_and_cleaning_up_still_works(
        gateway: RunningGateway, tmp_path: Path) -> None:
    store = database(tmp_path)
    old = store.create("old")[1]
    store.revoke(old.id)
    refused = gateway.http.post("/v1/keys", json={"name": "team"})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "master_key_required", None)
    assert "Set GATEWAY_MASTER_KEY" in error["message"] and "dashboard" in error["message"]
    assert gateway.http.post("/v1/keys", json={}).status_code == 409
    assert [k["id"] for k in gateway.http.get("/v1/keys").json()["data"]] == [old.id]
    assert gateway.http.delete(f"/v1/keys/{old.id}").status_code == 200
    assert [k.id for k in store.all()] == [old.id]
    assert gateway.http.get("/v1/activity").status_code == 200


def test_with_a_master_key_a_cli_created_key_calls_models_and_the_master_key_reaches_admin_routes(
        gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for variable in [name for name in os.environ if name.startswith("GATEWAY_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{tmp_path / 'gateway.db'}")
    monkeypatch.setenv("GATEWAY_MASTER_KEY", MASTER)
    assert main(["keys", "create", "--name", "team"]) == 0
    clear = next(line[5:] for line in capsys.readouterr().out.splitlines() if line.startswith("key: "))
    gw = gateway_factory(env=upstream(fake_openai), master_key=MASTER)
    assert gw.http.get("/v1/models", headers=bearer(clear)).status_code == 200
    assert gw.http.get("/v1/activity", headers=bearer(clear)).status_code == 403
    for path in ("/v1/activity", "/v1/activity/stats", "/metrics", "/v1/keys"):
        assert gw.http.get(path, headers=bearer(MASTER)).status_code == 200, path
    assert gw.http.get("/v1/activity").status_code == 401


def test_start_message_with_a_master_key(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                         caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gateway"):
        gateway_factory(env=upstream(fake_openai), master_key=MASTER)
    assert auth_lines(caplog) == ["auth: on — master key + no active gateway keys"]


def test_keys_left_from_an_earlier_setup_keep_authentication_on_until_revoked_and_restarted(
        gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    store = database(tmp_path)
    clear, key = store.create("old", models=["openai/gpt-4o-mini"])
    with caplog.at_level(logging.INFO, logger="gateway"):
        locked = gateway_factory(env=upstream(fake_openai))
    assert auth_lines(caplog) == [
        "auth: on — 1 active gateway key and no master key (admin routes and the dashboard are unreachable: "
        "set GATEWAY_MASTER_KEY, or revoke the keys with `gateway keys revoke` and restart)"]
    assert locked.http.get("/v1/models", headers=bearer(clear)).status_code == 200
    assert locked.http.get("/v1/models").status_code == 401
    assert locked.http.get("/v1/activity", headers=bearer(clear)).status_code == 403
    store.revoke(key.id)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="gateway"):
        reopened = gateway_factory(env=upstream(fake_openai))
    assert auth_lines(caplog) == ["auth: OFF — no master key and no active gateway keys; every caller is "
                                  "anonymous with admin rights (serve on loopback only)"]
    assert reopened.http.get("/v1/activity").status_code == 200
    assert reopened.http.get("/v1/models", headers=bearer(clear)).status_code == 200


class _Store(KeyStore):
    """Keys in a list; the database can be switched off."""

    def __init__(self, *keys: ApiKey) -> None:
        self.keys = list(keys)
        self.down = False

    def all(self) -> list[ApiKey]:
        if self.down:
            raise ConnectionError("database down")
        return list(self.keys)

    def find(self, key_hash: str) -> ApiKey | None:
        return next((k for k in self.all() if k.key_hash == key_hash), None)


def api_key(clear: str, *, revoked: bool = False, expired: bool = False) -> ApiKey:
    hour = dt.timedelta(hours=1)
    return ApiKey(f"key_{clear}", clear, hash_key(clear), clear[:10], None, None, None, NOW - 2 * hour,
                  NOW - hour if expired else None, NOW - hour if revoked else None)


def revoked(key: ApiKey) -> ApiKey:
    return ApiKey(key.id, key.name, key.key_hash, key.prefix, key.models, key.rpm, key.tpm, key.created_at,
                  key.expires_at, dt.datetime.now(dt.UTC))


@pytest.mark.parametrize("state", ["revoked", "expired"])
async def test_a_revoked_or_expired_key_does_not_turn_authentication_on(state: str) -> None:
    ring = KeyRing(_Store(api_key("gw-stale", revoked=state == "revoked", expired=state == "expired")), None)
    await ring.refresh()
    assert ring.auth_required is False and ring.mode.active_keys == 0
    assert await ring.authenticate(None) is ANONYMOUS
    assert await ring.authenticate("gw-stale") is ANONYMOUS


@pytest.mark.parametrize("state", ["revoked", "expired"])
async def test_a_revoked_or_expired_key_is_recognised_while_authentication_is_on(state: str) -> None:
    stale = api_key("gw-stale", revoked=state == "revoked", expired=state == "expired")
    for ring in (KeyRing(_Store(stale, api_key("gw-live")), None), KeyRing(_Store(stale), MASTER)):
        await ring.refresh()
        assert ring.auth_required
        with pytest.raises(AuthenticationError, match=f"^This API key has been {state}.$") as refused:
            await ring.authenticate("gw-stale")
        assert refused.value.code == f"{state}_api_key"


async def test_revoking_every_key_turns_authentication_off_at_the_next_start(
        caplog: pytest.LogCaptureFixture) -> None:
    live = api_key("gw-live")
    store = _Store(live)
    running = KeyRing(store, None)
    await running.refresh()
    assert running.auth_required and (await running.authenticate("gw-live")).key == live
    store.keys = [revoked(live)]
    with caplog.at_level(logging.WARNING, logger="gateway.keys"):
        await running.refresh()
    assert running.auth_required, "no silent switch to unauthenticated while serving"
    assert running.mode.active_keys == 0
    assert [r.getMessage() for r in caplog.records] == [
        "auth: on until restart — every gateway key is now revoked or expired and there is no master key; "
        "set GATEWAY_MASTER_KEY, or restart to serve without authentication"]
    with pytest.raises(AuthenticationError, match="revoked"):
        await running.authenticate("gw-live")
    restarted = KeyRing(store, None)
    await restarted.refresh()
    assert restarted.auth_required is False
    assert await restarted.authenticate(None) is ANONYMOUS


async def test_without_a_master_key_requests_wait_for_the_key_store_to_answer_once(
        caplog: pytest.LogCaptureFixture) -> None:
    store = _Store(api_key("gw-live"))
    store.down = True
    ring = KeyRing(store, None)
    with caplog.at_level(logging.INFO, logger="gateway.keys"):
        assert await ring.refresh() is False
        ring.announce("open")
        with pytest.raises(ServiceUnavailableError):
            await ring.authenticate(None)
        store.down = False
        await ring.refresh()
    with pytest.raises(AuthenticationError, match="Missing API key"):
        await ring.authenticate(None)
    assert auth_lines(caplog) == [
        "auth: unknown — the key store did not answer and there is no master key; every request is a 503 "
        "until it does",
        "auth: on — 1 active gateway key and no master key (admin routes and the dashboard are unreachable: "
        "set GATEWAY_MASTER_KEY, or revoke the keys with `gateway keys revoke` and restart)"]
