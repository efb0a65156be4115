"""An upstream that echoes the provider key transformed - base64 (standard or URL-safe, padded
or not, alone or inside ``user:key`` / ``Bearer key``), or URL-encoded - gets it masked in the
client's error, the record and the logs, as the bare key is."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import quote

import pytest

from gateway.core.secret_forms import secret_forms
from gateway.logging import Redactor
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import FakeOpenAI, openai_error
from tests.input.test_secrets import all_logs

KEY = "AKIA/live+Key=42:s3cr3t~value_0123"
"""Not credential-shaped (no ``sk-``, no ``Bearer``), so only the known-value masking can hide it."""
B64, URLSAFE = base64.b64encode, base64.urlsafe_b64encode


def _b64(encode: Any, text: str, padded: bool = True) -> str:
    out: str = encode(text.encode()).decode()
    return out if padded else out.rstrip("=")


FORMS = {
    "base64": _b64(B64, KEY),
    "base64 unpadded": _b64(B64, KEY, padded=False),
    "base64 url-safe": _b64(URLSAFE, KEY),
    "base64 url-safe unpadded": _b64(URLSAFE, KEY, padded=False),
    "base64 of user:key": _b64(B64, "api:" + KEY),
    "base64 of Bearer key": _b64(B64, "Bearer " + KEY),
    "url-safe base64 of key:x": _b64(URLSAFE, KEY + ":x", padded=False),
    "url-encoded": quote(KEY, safe=""),
    "url-encoded, lower-case hex": re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(KEY, safe="")),
    "url-encoded, '/' kept": quote(KEY, safe="/"),
}
PREFIX = "openai: Incorrect API key provided: "


def test_every_form_is_distinct_from_the_key() -> None:
    assert all(KEY not in form for form in FORMS.values())
    assert len(set(FORMS.values())) == len(FORMS)


@pytest.mark.parametrize("name", FORMS)
def test_redactor_masks_the_form_inside_text(name: str) -> None:
    masked = Redactor([KEY])(f"upstream said [{FORMS[name]}] twice: {FORMS[name]}.")
    assert FORMS[name] not in masked and masked.count("***") == 2, masked


def test_short_secrets_get_no_base64_forms() -> None:
    assert secret_forms("abc/1234"[:7]) == {"abc/123", "abc%2F123", "abc%2f123"}


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    return gateway_factory(env={"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                           capture_bodies=True)


def _echo(fake: FakeOpenAI, gw: RunningGateway, form: str, stream: bool) -> Any:
    fake.enqueue(openai_error(401, f"Incorrect API key provided: {form}.", "invalid_request_error",
                              "invalid_api_key"))
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    return gw.http.post("/v1/chat/completions", json=body)


def test_echoed_forms_are_masked_in_errors_records_and_logs(gw: RunningGateway, fake_openai: FakeOpenAI,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []
    with all_logs(caplog):
        for i, form in enumerate(FORMS.values()):
            response = _echo(fake_openai, gw, form, stream=i % 2 == 1)
            assert response.status_code == 401, response.text
            message = response.json()["error"]["message"]
            assert message.startswith(PREFIX) and "***" in message, message
            seen.append(response.text)
        records = gw.records()
    assert len(records) == len(FORMS)
    assert all(r["error_message"].startswith(PREFIX) and "***" in r["error_message"] for r in records), records
    assert all(r["request_body"] is not None for r in records)
    texts = {"responses": " ".join(seen), "records": str(records), "logs": caplog.text}
    assert "Incorrect API key provided: ***" in caplog.text
    leaks = [f"{name} in {where}" for name, form in FORMS.items() for where, text in texts.items() if form in text]
    assert leaks == []
    assert all(KEY not in text for text in texts.values())
