"""Google's own client libraries against the fakes: ``google-auth`` performs the
service-account token exchange with the fake token endpoint, and ``google-genai``
in Vertex AI mode calls the fake model routes. This proves the fakes (JWT
verification, token answer, paths, bodies) match what Google's clients speak."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.fakes.vertexai_fake import PROJECT, SCOPE, FakeVertex

genai = pytest.importorskip("google.genai")
types = pytest.importorskip("google.genai.types")
service_account = pytest.importorskip("google.oauth2.service_account")


def client(fake: FakeVertex, key_file: Path) -> object:
    info = orjson.loads(key_file.read_bytes())
    credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
    return genai.Client(vertexai=True, project=PROJECT, location="us-central1", credentials=credentials,
                        http_options=types.HttpOptions(base_url=fake.url, api_version="v1"))


def test_generate_content_and_stream(fake_vertex: FakeVertex, key_file: Path) -> None:
    sdk = client(fake_vertex, key_file)
    answer = sdk.models.generate_content(model="gemini-2.5-flash", contents="hello vertex")  # type: ignore[attr-defined]
    assert answer.text == "echo: hello vertex"
    assert len(fake_vertex.token_requests) == 1, "google-auth's JWT passed the fake's signature check"
    sent = fake_vertex.last
    assert sent.path == f"/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models/" \
                        "gemini-2.5-flash:generateContent"
    assert sent.headers["authorization"] == "Bearer ya29.fake-1"
    chunks = list(sdk.models.generate_content_stream(  # type: ignore[attr-defined]
        model="gemini-2.5-flash", contents="one two"))
    assert "".join(c.text for c in chunks) == "echo: one two"
    assert chunks[-1].usage_metadata.candidates_token_count == 3


def test_embed_content_via_predict(fake_vertex: FakeVertex, key_file: Path) -> None:
    sdk = client(fake_vertex, key_file)
    answer = sdk.models.embed_content(  # type: ignore[attr-defined]
        model="text-embedding-005", contents=["a b", "c"], config=types.EmbedContentConfig(output_dimensionality=4))
    assert fake_vertex.last.path.endswith("/publishers/google/models/text-embedding-005:predict")
    assert [len(e.values) for e in answer.embeddings] == [4, 4]
    assert [e.statistics.token_count for e in answer.embeddings] == [2, 1]
