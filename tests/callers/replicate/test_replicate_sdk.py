"""The official ``replicate`` client against the fake: proof the fake speaks the
real prediction and SSE formats (the SDK parses them into its typed objects)."""

from __future__ import annotations

import pytest
from replicate.client import Client
from replicate.exceptions import ReplicateError

from tests.fakes.replicate_fake import VALID_TOKEN, FakeReplicate

MODEL = "meta/meta-llama-3-8b-instruct"


def sdk(fake: FakeReplicate, token: str = VALID_TOKEN) -> Client:
    client = Client(api_token=token, base_url=fake.url)
    client.poll_interval = 0.01
    return client


def test_sdk_models_predictions_create_in_sync_mode(fake_replicate: FakeReplicate) -> None:
    prediction = sdk(fake_replicate).models.predictions.create(model=MODEL, input={"prompt": "hi there"}, wait=True)
    assert prediction.status == "succeeded"
    assert prediction.output == ["echo:", " hi", " there"]
    assert prediction.metrics == {"input_token_count": 2, "output_token_count": 3, "predict_time": 0.25}
    assert fake_replicate.last.headers["prefer"] == "wait"
    assert fake_replicate.last.headers["authorization"] == f"Bearer {VALID_TOKEN}"


def test_sdk_versioned_prediction_and_polling(fake_replicate: FakeReplicate) -> None:
    fake_replicate.pending_polls = 1
    prediction = sdk(fake_replicate).predictions.create(version="abc123", input={"prompt": "yo"})
    assert (fake_replicate.last.path, fake_replicate.last.body) == (
        "/v1/predictions", {"input": {"prompt": "yo"}, "version": "abc123"})
    assert prediction.status == "starting"
    prediction.wait()
    assert (prediction.status, prediction.output) == ("succeeded", ["echo:", " yo"])


def test_sdk_run_and_stream(fake_replicate: FakeReplicate) -> None:
    client = sdk(fake_replicate)
    assert "".join(client.run(MODEL, input={"prompt": "run me"})) == "echo: run me"
    events = list(client.stream(MODEL, input={"prompt": "stream me"}))
    assert [e.event.value for e in events] == ["output", "output", "output", "done"]
    assert "".join(str(e) for e in events) == "echo: stream me"


def test_sdk_account_and_problem_details(fake_replicate: FakeReplicate) -> None:
    assert sdk(fake_replicate).accounts.current().username == "gateway-tester"
    with pytest.raises(ReplicateError) as caught:
        sdk(fake_replicate, "r8_bad").accounts.current()
    assert caught.value.status == 401 and caught.value.title == "Unauthenticated"
