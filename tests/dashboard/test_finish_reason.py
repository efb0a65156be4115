"""The dashboard shows each record's finish reason beside its status and in its detail view, and
the records of refused requests with their error."""

from __future__ import annotations

import pytest

from tests.conftest import RunningGateway
from tests.dashboard.cdp import Browser
from tests.fakes.openai_fake import FakeOpenAI, completion
from tests.fakes.server import Scripted

pytestmark = pytest.mark.browser

FINISH_JS = "[...document.querySelectorAll('#requests tbody tr')].map(r => r.querySelector('.finish')?.textContent)"
ERRORS_JS = "[...document.querySelectorAll('#requests tbody tr')].map(r => r.querySelector('.row-error')?.textContent)"


def test_finish_reason_beside_the_status_and_in_the_detail(browser: Browser, gateway: RunningGateway,
                                                           fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Scripted(json=completion("cut", finish_reason="length")))
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    assert gateway.http.post("/v1/chat/completions", json=body).status_code == 200
    assert gateway.http.post("/v1/chat/completions", json={"model": "openai/gpt-4o-mini"}).status_code == 400
    gateway.flush()
    page = browser.new_page()
    page.goto(gateway.url + "/dashboard")
    page.wait_for("document.querySelectorAll('#requests tbody tr').length === 2")
    assert page.evaluate(FINISH_JS) == [None, "length"]
    errors = page.evaluate(ERRORS_JS)
    assert errors[0] and "messages" in errors[0] and errors[1] is None
    page.evaluate("document.querySelectorAll('#requests tbody tr')[1].focus()")
    page.press("Enter", "Enter", 13)
    page.wait_for("document.getElementById('detail').open && document.body.dataset.detail === 'ready'")
    panel = page.evaluate("document.getElementById('panel').innerText")
    assert "Finish reason\nlength" in panel and "finish reason" not in panel
