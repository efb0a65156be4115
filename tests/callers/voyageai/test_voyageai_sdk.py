"""The official ``voyageai`` SDK against the fake: proves the fake speaks Voyage's real format.

The SDK takes its base URL (``.../v1``) as the ``base_url`` constructor argument.
"""

from __future__ import annotations

import pytest
import voyageai.error
from voyageai.client import Client

from tests.fakes.voyageai_fake import VALID_KEY, FakeVoyage, fake_vector


@pytest.fixture
def client(fake_voyage: FakeVoyage) -> Client:
    return Client(api_key=VALID_KEY, base_url=fake_voyage.url + "/v1", max_retries=0, timeout=10)


def test_sdk_embed_decodes_the_base64_it_asks_for(client: Client, fake_voyage: FakeVoyage) -> None:
    result = client.embed(["hello world", "bye"], model="voyage-3.5", input_type="query", output_dimension=4)
    assert fake_voyage.last.body["encoding_format"] == "base64"
    assert [list(v) for v in result.embeddings] == [pytest.approx(fake_vector(t, 4), abs=1e-6)
                                                    for t in ("hello world", "bye")]
    assert result.total_tokens == 3


def test_sdk_rerank(client: Client) -> None:
    result = client.rerank("red apple", ["green pear", "red apple pie", "apple"], model="rerank-2.5", top_k=2)
    assert [(r.index, r.document) for r in result.results] == [(1, "red apple pie"), (2, "apple")]
    assert result.results[0].relevance_score == 1.0
    assert result.total_tokens == 8


def test_sdk_auth_error_reads_detail(fake_voyage: FakeVoyage) -> None:
    bad = Client(api_key="wrong", base_url=fake_voyage.url + "/v1", max_retries=0)
    with pytest.raises(voyageai.error.AuthenticationError) as caught:
        bad.embed(["x"], model="voyage-3.5")
    assert "Provided API key is invalid." in str(caught.value)
