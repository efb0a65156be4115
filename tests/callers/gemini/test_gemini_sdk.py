"""Google's official ``google-genai`` SDK against the fake: proves the fake speaks the real format."""

from __future__ import annotations

import pytest

from tests.fakes.gemini_fake import VALID_KEY, FakeGemini, candidate, function_call, response, stream_answer, usage
from tests.fakes.server import Scripted, sse

genai = pytest.importorskip("google.genai")
types = pytest.importorskip("google.genai.types")


def client(fake: FakeGemini, key: str = VALID_KEY) -> object:
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=fake.url, api_version="v1beta"))


def test_generate_content(fake_gemini: FakeGemini) -> None:
    sdk = client(fake_gemini)
    answer = sdk.models.generate_content(  # type: ignore[attr-defined]
        model="gemini-2.5-flash", contents="hello sdk",
        config=types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=20, temperature=0.1))
    sent = fake_gemini.last
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == VALID_KEY
    assert sent.body["generationConfig"] == {"maxOutputTokens": 20, "temperature": 0.1}
    assert answer.text == "echo: hello sdk"
    assert answer.candidates[0].finish_reason == types.FinishReason.STOP
    assert (answer.usage_metadata.prompt_token_count, answer.usage_metadata.candidates_token_count) == (9, 5)
    assert answer.model_version == "gemini-2.5-flash-001"


def test_generate_content_with_a_function_call(fake_gemini: FakeGemini) -> None:
    body = response(candidate([function_call("get_weather", {"city": "Paris"}, "c2ln")]), usage_metadata=usage())
    fake_gemini.enqueue(Scripted(json=body))
    sdk = client(fake_gemini)
    answer = sdk.models.generate_content(  # type: ignore[attr-defined]
        model="gemini-2.5-flash", contents="weather?")
    call = answer.function_calls[0]
    assert (call.name, call.args) == ("get_weather", {"city": "Paris"})
    assert answer.candidates[0].content.parts[0].thought_signature == b"sig"


def test_generate_content_stream(fake_gemini: FakeGemini) -> None:
    sdk = client(fake_gemini)
    chunks = list(sdk.models.generate_content_stream(  # type: ignore[attr-defined]
        model="gemini-2.5-flash", contents="one two three"))
    assert fake_gemini.last.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert fake_gemini.last.query == {"alt": "sse"}
    assert "".join(c.text for c in chunks) == "echo: one two three"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.candidates_token_count == len(chunks)


def test_stream_error_event_is_an_sdk_error(fake_gemini: FakeGemini) -> None:
    frames = sse([response(candidate([{"text": "par"}], None)),
                  {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}])
    fake_gemini.enqueue(stream_answer(frames))
    errors = pytest.importorskip("google.genai.errors")
    sdk = client(fake_gemini)
    with pytest.raises(errors.ServerError) as caught:
        list(sdk.models.generate_content_stream(  # type: ignore[attr-defined]
            model="gemini-2.5-flash", contents="hi"))
    assert caught.value.code == 503


def test_embed_content(fake_gemini: FakeGemini) -> None:
    sdk = client(fake_gemini)
    answer = sdk.models.embed_content(  # type: ignore[attr-defined]
        model="gemini-embedding-001", contents=["first", "second"],
        config=types.EmbedContentConfig(output_dimensionality=4, task_type="RETRIEVAL_QUERY"))
    sent = fake_gemini.last
    assert sent.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert sent.body["requests"][0]["model"] == "models/gemini-embedding-001"
    assert sent.body["requests"][0]["outputDimensionality"] == 4
    assert [len(e.values) for e in answer.embeddings] == [4, 4]


def test_a_bad_key_is_a_client_error(fake_gemini: FakeGemini) -> None:
    errors = pytest.importorskip("google.genai.errors")
    sdk = client(fake_gemini, "AIza-wrong")
    with pytest.raises(errors.ClientError) as caught:
        sdk.models.generate_content(  # type: ignore[attr-defined]
            model="gemini-2.5-flash", contents="hi")
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
