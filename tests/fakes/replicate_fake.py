"""A fake Replicate HTTP API (predictions, SSE streams, account) as its reference documents it.

Default behaviour, unless a test scripts an answer: a prediction "runs" a
language model that answers ``echo: <prompt>`` as a list of word tokens, with
``metrics.input_token_count`` = words in the prompt and
``metrics.output_token_count`` = tokens out. With ``Prefer: wait`` and
``pending_polls == 0`` the create call returns it ``succeeded``; otherwise it is
``starting`` and the first ``pending_polls`` GETs answer ``processing``. A
stream (``urls.stream``) sends ``output`` events with ids, then ``done``.
Only the token ``r8_test`` is accepted (as ``Bearer`` or the older ``Token``).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from tests.fakes.server import FakeUpstream, Scripted

VALID_TOKEN = "r8_test"
VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> Scripted:
    return Scripted(status=status, json={"title": title, "detail": detail, "status": status}, headers=headers or {})


def replicate_sse(tokens: list[str], *, error: str | None = None, done: dict[str, Any] | None = None,
                  end: bool = True) -> list[bytes]:
    """``output`` events (plain text, one ``data:`` line per text line), then an
    optional ``error`` event and, if ``end``, a ``done`` event."""
    frames = []
    for i, token in enumerate(tokens):
        lines = "".join(f"data: {line}\n" for line in token.split("\n"))
        frames.append(f"event: output\nid: 1690212292:{i}\n{lines}\n".encode())
    if error is not None:
        frames.append(b"event: error\nid: 1690212293:0\ndata: " + orjson.dumps({"detail": error}) + b"\n\n")
    if end:
        payload = done if done is not None else ({"reason": "error"} if error is not None else {})
        frames.append(b"event: done\nid: 1690212294:0\ndata: " + orjson.dumps(payload) + b"\n\n")
    return frames


class FakeReplicate(FakeUpstream):
    def __init__(self) -> None:
        self.predictions: dict[str, dict[str, Any]] = {}
        self.pending_polls = 0
        self._polls_left: dict[str, int] = {}
        super().__init__()

    def routes(self) -> None:
        self.route("/v1/models/{owner}/{name}/predictions", self._create)
        self.route("/v1/predictions", self._create)
        self.route("/v1/predictions/{id}", self._get, methods=("GET",))
        self.route("/v1/predictions/{id}/cancel", self._cancel)
        self.route("/v1/streams/{id}", self._stream, methods=("GET",))
        self.route("/v1/account", self._account, methods=("GET",))

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") in (f"Bearer {VALID_TOKEN}", f"Token {VALID_TOKEN}")

    def _unauthorized(self) -> Scripted:
        return problem(401, "Unauthenticated", "You did not pass a valid authentication token")

    def prediction(self, pid: str = "p1", *, status: str = "succeeded", output: Any = None,
                   metrics: dict[str, Any] | None = None, error: str | None = None,
                   model: str = "meta/meta-llama-3-8b-instruct", stream: bool = False) -> dict[str, Any]:
        """A prediction object whose ``urls`` point at this fake."""
        urls = {"get": f"{self.url}/v1/predictions/{pid}", "cancel": f"{self.url}/v1/predictions/{pid}/cancel"}
        if stream:
            urls["stream"] = f"{self.url}/v1/streams/{pid}"
        return {"id": pid, "model": model, "version": VERSION, "input": {}, "logs": "", "output": output,
                "error": error, "status": status, "created_at": "2024-07-23T15:04:21.227000Z",
                "data_removed": False, "metrics": metrics or {}, "urls": urls}

    def _create(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return self._unauthorized()
        params = request.path_params
        model = f"{params['owner']}/{params['name']}" if "owner" in params else "meta/meta-llama-3-8b-instruct"
        prompt = str(body["input"].get("prompt", ""))
        words = f"echo: {prompt}".split(" ")
        tokens = [w if i == 0 else " " + w for i, w in enumerate(words)]
        pid = f"p{len(self.predictions) + 1}"
        done = self.prediction(pid, output=tokens, model=model, stream=bool(body.get("stream")),
                               metrics={"input_token_count": len(prompt.split()),
                                        "output_token_count": len(tokens), "predict_time": 0.25})
        self.predictions[pid] = done
        waited = "wait" in request.headers.get("prefer", "")
        if waited and self.pending_polls == 0 and not body.get("stream"):
            return Scripted(status=201, json=done)
        self._polls_left[pid] = self.pending_polls
        return Scripted(status=201, json={**done, "status": "starting", "output": None, "metrics": {}})

    def _get(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return self._unauthorized()
        pid = request.path_params["id"]
        if pid not in self.predictions:
            return problem(404, "Not found", "The requested resource could not be found")
        if self._polls_left.get(pid, 0) > 0:
            self._polls_left[pid] -= 1
            return Scripted(json={**self.predictions[pid], "status": "processing", "output": None, "metrics": {}})
        return Scripted(json=self.predictions[pid])

    def _cancel(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return self._unauthorized()
        pid = request.path_params["id"]
        self.predictions[pid] = {**self.predictions.get(pid, self.prediction(pid)), "status": "canceled"}
        return Scripted(json=self.predictions[pid])

    def _stream(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return self._unauthorized()
        prediction = self.predictions[request.path_params["id"]]
        return Scripted(stream=replicate_sse(prediction["output"]), media_type="text/event-stream")

    def _account(self, request: Request, body: Any) -> Scripted:
        if not self._authorized(request):
            return self._unauthorized()
        return Scripted(json={"type": "user", "username": "gateway-tester", "name": "Gateway Tester",
                              "github_url": "https://github.com/gateway-tester"})
