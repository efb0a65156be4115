"""A request body is parsed once, by the body gate: FastAPI's validation reads the gate's object
instead of parsing the bytes again (``gateway.api.parsed``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import RunningGateway

BODY = b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "parsed once"}]}'


def test_fastapi_does_not_parse_the_body_again(gateway: RunningGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[Any] = []
    real = json.loads

    def counted(text: Any, *args: Any, **kwargs: Any) -> Any:
        if text in (BODY, BODY.decode()):
            parsed.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", counted)
    response = gateway.http.post("/v1/chat/completions", content=BODY, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "echo: parsed once"
    assert parsed == []
    refused = gateway.http.post("/v1/chat/completions", content=b'{"model": 7}',
                                headers={"content-type": "application/json"})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "model"
