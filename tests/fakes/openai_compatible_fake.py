"""One fake OpenAI-format server standing in for every OpenAI-compatible preset.

It serves the OpenAI routes under each vendor's base path (``/openai/v1`` Groq,
``/v1``, ``/api/v1`` OpenRouter, ``/inference/v1`` Fireworks, none for DeepSeek),
plus OpenRouter's ``GET /api/v1/key``. OpenRouter's ``/api/v1/models`` is public,
as on the real service. With ``keyless`` set, requests without an
``Authorization`` header are accepted (local servers started without a key); a
wrong key is still refused.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI
from tests.fakes.server import Scripted

PREFIXES = ("", "/v1", "/openai/v1", "/api/v1", "/inference/v1")
PUBLIC_MODELS = "/api/v1/models"


class FakeCompatible(FakeOpenAI):
    keyless = False

    def routes(self) -> None:
        for prefix in PREFIXES:
            self.route(prefix + "/chat/completions", self._chat)
            self.route(prefix + "/embeddings", self._embeddings)
            if prefix + "/models" != PUBLIC_MODELS:
                self.route(prefix + "/models", self._models, methods=("GET",))
        self.route(PUBLIC_MODELS, self._public_models, methods=("GET",))
        self.route("/api/v1/key", self._key, methods=("GET",))

    def reset(self) -> None:
        """Forget recorded requests and scripted answers; require keys again (one server, many tests)."""
        self.requests.clear()
        self._script.clear()
        self.keyless = False

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization")
        if header is None:
            return self.keyless
        return header == f"Bearer {VALID_KEY}"

    def _public_models(self, request: Request, body: Any) -> Scripted:
        return Scripted(json={"data": [{"id": "openai/gpt-4o-mini", "name": "OpenAI: GPT-4o-mini",
                                        "created": 1_700_000_000, "context_length": 128000}]})

    def _key(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return Scripted(status=401, json={"error": {"message": "No auth credentials found", "code": 401}})
        return Scripted(json={"data": {"label": "sk-or-v1-abc...xyz", "limit": None, "usage": 0.25,
                                       "is_free_tier": False, "limit_remaining": None}})
