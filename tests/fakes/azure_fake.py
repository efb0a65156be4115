"""A fake Azure OpenAI data plane, as Microsoft's REST reference documents it.

Routes: the deployments form (``/openai/deployments/{deployment}/chat/completions``,
``/embeddings``, ``GET /openai/models``; each needs ``?api-version=``, else 404 like
Azure) and the v1 form (``/openai/v1/...``, no api-version). Auth is the ``api-key``
header (the v1 form also takes ``Authorization: Bearer``). Completions carry Azure's
``prompt_filter_results`` / ``content_filter_results``, and a stream starts with Azure's
choice-less prompt-filter chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI
from tests.fakes.server import Scripted, sse

DEPLOYMENT = "/openai/deployments/{deployment}"
V1 = "/openai/v1"
_SAFE = {"filtered": False, "severity": "safe"}
FILTER_RESULTS = {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}
PROMPT_FILTER = [{"prompt_index": 0, "content_filter_results": FILTER_RESULTS}]


def azure_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Scripted:
    """Azure's error body: ``{"error": {"code", "message"}}`` (``code`` is often the status as text)."""
    return Scripted(status=status, json={"error": {"code": code, "message": message}}, headers=headers or {})


def content_filter_error() -> Scripted:
    """HTTP 400 for a filtered prompt ("Content filtering" concept page)."""
    return Scripted(status=400, json={"error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        "type": None, "param": "prompt", "code": "content_filter", "status": 400,
        "innererror": {"code": "ResponsibleAIPolicyViolation",
                       "content_filter_result": {**FILTER_RESULTS, "violence": {"filtered": True,
                                                                                 "severity": "high"}}}}})


def prompt_filter_chunk() -> dict[str, Any]:
    return {"id": "", "object": "", "created": 0, "model": "", "choices": [], "prompt_filter_results": PROMPT_FILTER}


Handler = Callable[[Request, Any], Scripted]


class FakeAzureOpenAI(FakeOpenAI):
    def routes(self) -> None:
        self.route(DEPLOYMENT + "/chat/completions", self._versioned(self._chat))
        self.route(DEPLOYMENT + "/embeddings", self._versioned(self._embeddings))
        self.route("/openai/models", self._versioned(self._models), methods=("GET",))
        self.route(V1 + "/chat/completions", self._chat)
        self.route(V1 + "/embeddings", self._embeddings)
        self.route(V1 + "/models", self._models, methods=("GET",))

    def reset(self) -> None:
        """Forget recorded requests and scripted answers (one server, many tests)."""
        self.requests.clear()
        self._script.clear()

    def _versioned(self, handler: Handler) -> Handler:
        def versioned(request: Request, body: Any) -> Scripted:
            if "api-version" not in request.query_params:
                return azure_error(404, "404", "Resource not found")
            return handler(request, body)
        return versioned

    def _authorized(self, request: Request) -> bool:
        """``api-key`` everywhere; the v1 API also takes ``Authorization: Bearer`` (its reference)."""
        if request.headers.get("api-key") == VALID_KEY:
            return True
        return request.url.path.startswith(V1) and request.headers.get("authorization") == f"Bearer {VALID_KEY}"

    def _unauthorized(self) -> Scripted:
        return azure_error(401, "401", "Access denied due to invalid subscription key or wrong API endpoint. "
                                       "Make sure to provide a valid key for an active subscription and use a "
                                       "correct regional API endpoint for your resource.")

    def _chat(self, request: Request, body: Any) -> Scripted:
        answer = super()._chat(request, body)
        if answer.status != 200:
            return answer
        if answer.stream is not None:
            answer.stream = sse([prompt_filter_chunk()]) + answer.stream
        elif isinstance(answer.json, dict):
            answer.json["prompt_filter_results"] = PROMPT_FILTER
            for choice in answer.json["choices"]:
                choice["content_filter_results"] = FILTER_RESULTS
        return answer
