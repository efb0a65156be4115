"""``POST /v1/keys`` and ``DELETE /v1/keys/{id}`` refuse bad input with a 4xx, never a 500:
empty allow-lists, limits that are not JSON integers or overflow, past expiry, control characters."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gateway.cli import main
from tests.conftest import GatewayFactory, RunningGateway

MASTER = "master-key-for-key-input-tests"
AUTH = {"authorization": f"Bearer {MASTER}"}


@pytest.fixture
def gw(gateway_factory: GatewayFactory) -> RunningGateway:
    return gateway_factory(master_key=MASTER)


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "a", "models": []}, "models"),
    ({"name": "a", "rpm": "10"}, "rpm"),
    ({"name": "a", "rpm": True}, "rpm"),
    ({"name": "a", "tpm": 9223372036854775807}, "tpm"),
    ({"name": "a", "rpm": 0}, "rpm"),
    ({"name": "a\u0000b"}, "name"),
    ({"name": "a", "models": ["ok", "bad\u0000"]}, "models"),
    ({"name": "a", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
])
def test_bad_key_bodies_are_a_400_naming_the_field(gw: RunningGateway, body: dict[str, Any], field: str) -> None:
    response = gw.http.post("/v1/keys", headers=AUTH, json=body)
    assert response.status_code == 400, response.text
    assert field in (response.json()["error"]["param"] or "")
    assert gw.http.get("/v1/keys", headers=AUTH).json()["data"] == []


def test_an_allow_list_is_kept_as_given(gw: RunningGateway) -> None:
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    response = gw.http.post("/v1/keys", headers=AUTH, json={"name": "a", "models": ["x"], "rpm": 5,
                                                              "expires_at": future})
    assert response.status_code == 201, response.text
    assert response.json()["models"] == ["x"]


@pytest.mark.parametrize("key_id", ["%00", "key_%00abc", "x" * 300, "key_0123456789ab%00"])
def test_revoking_a_malformed_id_is_a_404(gw: RunningGateway, key_id: str) -> None:
    response = gw.http.delete(f"/v1/keys/{key_id}", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "key_not_found"


def test_the_cli_refuses_an_empty_allow_list(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{tmp_path / 'g.db'}")
    monkeypatch.setenv("GATEWAY_MASTER_KEY", MASTER)
    assert main(["keys", "create", "--name", "a", "--models", " , "]) == 2
    assert "--models" in capsys.readouterr().err
