"""A fake Hugging Face: the Inference Providers router (OpenAI-format chat), HF
Inference feature extraction and the Hub's ``whoami-v2``, as their references
document them.

Chat behaves as the fake OpenAI server does (the router speaks that format);
only the token ``hf_test`` is accepted, and a refused token gets the Hub's
``{"error": "..."}`` body. Feature extraction answers one deterministic vector
per input; a model whose name contains ``token-level`` answers token-level
features (one list of vectors per input), as non-sentence-transformers do.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tests.fakes.openai_fake import FakeOpenAI, fake_vector
from tests.fakes.server import Scripted

VALID_TOKEN = "hf_test"
DIMENSIONS = 8


def hf_error(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> Scripted:
    return Scripted(status=status, json={"error": message, **extra}, headers=headers or {})


class FakeHuggingFace(FakeOpenAI):
    def routes(self) -> None:
        self.route("/v1/chat/completions", self._chat)
        self.route("/hf-inference/models/{model:path}/pipeline/feature-extraction", self._feature_extraction)
        self.route("/api/whoami-v2", self._whoami, methods=("GET",))

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {VALID_TOKEN}"

    def _unauthorized(self) -> Scripted:
        return hf_error(401, "Invalid credentials in Authorization header")

    def _feature_extraction(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return self._unauthorized()
        inputs = body["inputs"] if isinstance(body["inputs"], list) else [body["inputs"]]
        if "token-level" in request.path_params["model"]:
            return Scripted(json=[[fake_vector(f"{text}#{i}", DIMENSIONS) for i in range(3)] for text in inputs])
        return Scripted(json=[fake_vector(str(text), DIMENSIONS) for text in inputs])

    def _whoami(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return self._unauthorized()
        return Scripted(json={
            "type": "user", "id": "6500000000000000000000aa", "name": "gateway-tester", "fullname": "Gateway Tester",
            "isPro": False, "canPay": False, "orgs": [],
            "auth": {"type": "access_token", "accessToken": {"displayName": "gateway", "role": "fineGrained"}},
        })
