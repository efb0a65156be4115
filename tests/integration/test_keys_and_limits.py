"""Gateway keys (hashed, constant-time, three header styles, model limits) and RPM/TPM limits."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.cli import _check_exposure, main
from gateway.cli_keys import CliError, parse_expiry
from gateway.service.keys import KeyRing
from gateway.store.keys import ApiKey, KeyStore, hash_key
from tests.conftest import GatewayFactory, RunningGateway, make_settings
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI

BODY: dict[str, Any] = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
MASTER = "master-key-for-tests"


def admin(gw: RunningGateway) -> dict[str, str]:
    return {"authorization": f"Bearer {MASTER}"}


def keyed_gateway(gateway_factory: GatewayFactory, fake: FakeOpenAI, **settings: Any) -> RunningGateway:
    return gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"},
                           master_key=MASTER, **settings)


def new_key(gw: RunningGateway, **fields: Any) -> dict[str, Any]:
    response = gw.http.post("/v1/keys", json={"name": "team", **fields}, headers=admin(gw))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_keys_authenticate_in_three_header_styles_and_are_stored_hashed(
        gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    gw = keyed_gateway(gateway_factory, fake_openai)
    created = new_key(gw)
    clear = created["key"]
    for headers in ({"authorization": f"Bearer {clear}"}, {"api-key": clear}, {"x-api-key": clear}):
        assert gw.http.post("/v1/chat/completions", json=BODY, headers=headers).status_code == 200
    wrong = gw.http.post("/v1/chat/completions", json=BODY, headers={"authorization": f"Bearer {clear}x"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    listed = gw.http.get("/v1/keys", headers=admin(gw)).json()["data"]
    assert [k["id"] for k in listed] == [created["id"]] and "key" not in listed[0]
    records = gw.records()
    assert {r["key_id"] for r in records} == {created["id"]}
    database = b"".join(path.read_bytes() for path in tmp_path.glob("gateway.db*"))
    assert clear.encode() not in database and hash_key(clear).encode() in database
    assert clear not in str(records)


def test_gateway_keys_cannot_use_admin_endpoints_or_other_models(gateway_factory: GatewayFactory,
                                                                 fake_openai: FakeOpenAI) -> None:
    gw = keyed_gateway(gateway_factory, fake_openai)
    clear = new_key(gw, models=["openai/gpt-4o-mini"])["key"]
    headers = {"authorization": f"Bearer {clear}"}
    assert gw.http.post("/v1/chat/completions", json=BODY, headers=headers).status_code == 200
    other = gw.http.post("/v1/chat/completions", json={**BODY, "model": "openai/gpt-4o"}, headers=headers)
    assert other.status_code == 403 and other.json()["error"]["code"] == "model_not_allowed"
    for path in ("/v1/activity", "/v1/keys"):
        denied = gw.http.get(path, headers=headers)
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "master_key_required"
    assert gw.http.get("/v1/activity", headers=admin(gw)).status_code == 200


def test_revoked_and_expired_keys_are_refused(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    gw = keyed_gateway(gateway_factory, fake_openai)
    created = new_key(gw)
    headers = {"authorization": f"Bearer {created['key']}"}
    assert gw.http.delete(f"/v1/keys/{created['id']}", headers=admin(gw)).status_code == 200
    revoked = gw.http.post("/v1/chat/completions", json=BODY, headers=headers)
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "revoked_api_key"
    assert gw.http.delete("/v1/keys/key_nope", headers=admin(gw)).status_code == 404
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(milliseconds=300)).isoformat()
    expiring = new_key(gw, expires_at=soon)
    import time

    time.sleep(0.4)
    expired = gw.http.post("/v1/chat/completions", json=BODY, headers={"x-api-key": expiring["key"]})
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "expired_api_key"


def test_requests_per_minute_limit(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    gw = keyed_gateway(gateway_factory, fake_openai)
    headers = {"authorization": f"Bearer {new_key(gw, rpm=2)['key']}"}
    codes = [gw.http.post("/v1/chat/completions", json=BODY, headers=headers).status_code for _ in range(2)]
    limited = gw.http.post("/v1/chat/completions", json=BODY, headers=headers)
    assert codes == [200, 200] and limited.status_code == 429
    assert limited.json()["error"]["code"] == "requests_per_minute_exceeded"
    assert 1 <= int(limited.headers["retry-after"]) <= 120, "until the sliding window has room (test_tpm_reservations)"
    assert len(fake_openai.requests) == 2


def test_tokens_per_minute_limit(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    gw = keyed_gateway(gateway_factory, fake_openai)
    headers = {"authorization": f"Bearer {new_key(gw, tpm=30)['key']}"}
    body = {**BODY, "max_tokens": 4}  # reserves 8 estimated prompt tokens + 4 output: 12
    assert gw.http.post("/v1/chat/completions", json=body, headers=headers).status_code == 200  # 18 tokens
    assert gw.http.post("/v1/chat/completions", json=body, headers=headers).status_code == 200  # 18 + 12 fits
    limited = gw.http.post("/v1/chat/completions", json=body, headers=headers)  # 36 used
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "tokens_per_minute_exceeded"


def _redis_or_skip(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis unreachable at {url}: {exc}")


def test_two_gateways_sharing_redis_enforce_one_combined_limit(gateway_factory: GatewayFactory,
                                                               fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    url = "redis://127.0.0.1:6379/0"
    _redis_or_skip(url)
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    first = keyed_gateway(gateway_factory, fake_openai, redis_url=url, database_url=database)
    second = keyed_gateway(gateway_factory, fake_openai, redis_url=url, database_url=database)
    headers = {"authorization": f"Bearer {new_key(first, rpm=3, name=f'shared-{uuid.uuid4().hex[:6]}')['key']}"}
    codes = [gw.http.post("/v1/chat/completions", json=BODY, headers=headers).status_code
             for gw in (first, second, first, second)]
    assert codes == [200, 200, 200, 429]
    assert first.http.get("/readyz").json()["rate_limiter"] == "ok"


class _FlakyStore(KeyStore):
    """A key store whose database can be switched off."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self.keys = keys
        self.down = False

    def all(self) -> list[ApiKey]:
        if self.down:
            raise ConnectionError("database down")
        return self.keys

    def find(self, key_hash: str) -> ApiKey | None:
        if self.down:
            raise ConnectionError("database down")
        return next((k for k in self.keys if k.key_hash == key_hash), None)


async def test_a_database_outage_is_never_a_401_for_a_known_key() -> None:
    key = ApiKey("key_1", "k", hash_key("gw-secret"), "gw-secret", None, None, None, dt.datetime.now(dt.UTC),
                 None, None)
    store = _FlakyStore([key])
    ring = KeyRing(store, master_key=None)
    await ring.refresh()
    store.down = True
    assert await ring.refresh() is False
    assert (await ring.authenticate("gw-secret")).key == key
    from gateway.errors import ServiceUnavailableError

    with pytest.raises(ServiceUnavailableError):
        await ring.authenticate("gw-unknown")


def test_cli_creates_lists_and_revokes_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("GATEWAY_MASTER_KEY", MASTER)
    assert main(["keys", "create", "--name", "ci", "--models", "a,b", "--rpm", "5", "--expires", "30d"]) == 0
    out = capsys.readouterr().out
    clear = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("key: "))
    key_id = out.split()[1]
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert key_id in listing and "active" in listing and clear not in listing and "a,b" in listing
    assert main(["keys", "revoke", key_id]) == 0 and main(["keys", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["keys", "revoke", "key_missing"]) == 2
    assert "no key 'key_missing'" in capsys.readouterr().err
    with pytest.raises(CliError):
        parse_expiry("tomorrow")


def test_unauthenticated_serving_is_loopback_only(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    from gateway.store.db import run_migrations

    run_migrations(settings.database_url)
    _check_exposure(settings, "127.0.0.1", allow_unauthenticated=False)
    with pytest.raises(CliError, match=r"refusing to serve on 0\.0\.0\.0"):
        _check_exposure(settings, "0.0.0.0", allow_unauthenticated=False)
    _check_exposure(settings, "0.0.0.0", allow_unauthenticated=True)


def test_master_key_header_styles(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    gw = keyed_gateway(gateway_factory, fake_openai)
    assert gw.http.post("/v1/chat/completions", json=BODY, headers={"api-key": MASTER}).status_code == 200
    assert gw.http.post("/v1/chat/completions", json=BODY).status_code == 401
    assert httpx.get(gw.url + "/healthz").status_code == 200
