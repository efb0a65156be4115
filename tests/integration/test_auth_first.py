"""Authentication comes first: a request without a valid key is refused from its headers, before a
byte of its body is read, and every request is authenticated exactly once."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.auth_middleware import is_public
from gateway.app import create_app
from gateway.service.keys import KeyRing, Principal
from tests.conftest import make_settings
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI
from tests.fakes.server import ServerThread

MASTER = "master-key-for-auth-first-tests"
BODY: dict[str, Any] = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
BIG = 14 * 1024 * 1024


class ReceiveProbe:
    """Wraps the whole application: counts, per ``x-request-id``, the body messages it received."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.received: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = dict(scope["headers"]).get(b"x-request-id", b"").decode()
        self.received[request_id] = 0

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.received[request_id] += 1
            return message

        await self.app(scope, counted, send)


@dataclass
class Served:
    probe: ReceiveProbe
    server: ServerThread
    app: Any
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.server.url, timeout=30)


@pytest.fixture
def served(tmp_path: Path, fake_openai: FakeOpenAI) -> Iterator[Served]:
    settings = make_settings(tmp_path, {"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                             master_key=MASTER)
    app = create_app(settings)
    probe = ReceiveProbe(app)
    running = Served(probe, ServerThread(probe).start(), app)
    yield running
    running.http.close()
    running.server.stop()


def master(request_id: str) -> dict[str, str]:
    return {"authorization": f"Bearer {MASTER}", "x-request-id": request_id}


def raw_headers_only(port: int, path: str, extra: str = "") -> bytes:
    """Send a POST's headers announcing a 14 MiB body, never the body; return what comes back."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {BIG}\r\nx-request-id: raw-{path.strip('/').replace('/', '-')}\r\n"
                      f"{extra}\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_a_missing_or_wrong_key_is_answered_before_the_body_is_sent(served: Served) -> None:
    missing = raw_headers_only(served.server.port, "/v1/chat/completions")
    assert missing.startswith(b"HTTP/1.1 401 ") and b'"code":"missing_api_key"' in missing
    wrong = raw_headers_only(served.server.port, "/v1/embeddings", "Authorization: Bearer nope\r\n")
    assert wrong.startswith(b"HTTP/1.1 401 ") and b'"code":"invalid_api_key"' in wrong
    assert served.probe.received["raw-v1-chat-completions"] == 0
    assert served.probe.received["raw-v1-embeddings"] == 0


def test_an_unauthenticated_14_mib_post_is_never_read_and_a_valid_key_still_works(served: Served) -> None:
    payload = b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "' + b"x" * BIG + b'"}]}'
    refused = served.http.post("/v1/chat/completions", content=payload,
                               headers={"content-type": "application/json", "x-request-id": "big-anon"})
    assert refused.status_code == 401
    assert refused.json()["error"] == {"message": "Missing API key. Send 'Authorization: Bearer <key>'.",
                                       "type": "authentication_error", "param": None, "code": "missing_api_key"}
    assert refused.headers["x-request-id"] == "big-anon"
    assert served.probe.received["big-anon"] == 0
    ok = served.http.post("/v1/chat/completions", json=BODY, headers=master("keyed"))
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == "echo: hi"
    assert served.probe.received["keyed"] == 1


def test_every_request_is_authenticated_once(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    keyring: KeyRing = served.app.state.keyring
    calls: list[str | None] = []
    authenticate = keyring.authenticate

    async def counted(presented: str | None) -> Principal:
        calls.append(presented)
        return await authenticate(presented)

    monkeypatch.setattr(keyring, "authenticate", counted)
    created = served.http.post("/v1/keys", json={"name": "once"}, headers=master("create")).json()
    gateway_key = {"authorization": f"Bearer {created['key']}"}
    requests = [
        ("POST", "/v1/chat/completions", {**BODY}, gateway_key, 200),
        ("POST", "/v1/chat/completions", {**BODY, "stream": True}, gateway_key, 200),
        ("GET", "/v1/models", None, gateway_key, 200),
        ("GET", "/v1/activity", None, gateway_key, 403),
        ("GET", "/v1/activity", None, master("a"), 200),
        ("GET", "/metrics", None, master("m"), 200),
    ]
    for method, path, body, headers, status in requests:
        calls.clear()
        assert served.http.request(method, path, json=body, headers=headers).status_code == status, path
        assert len(calls) == 1, (method, path, calls)


def test_public_paths_need_no_key_and_take_no_body(served: Served) -> None:
    for path in ("/healthz", "/readyz", "/dashboard", "/docs", "/redoc", "/openapi.json"):
        assert served.http.get(path).status_code == 200, path
    assert served.http.get("/", follow_redirects=False).status_code == 307
    with_body = served.http.request("GET", "/healthz", content=b"x" * BIG, headers={"x-request-id": "pub-body"})
    assert with_body.status_code == 413 and with_body.json()["error"]["code"] == "request_too_large"
    assert served.probe.received["pub-body"] == 0
    unknown = served.http.post("/v1/nothing", content=b"x" * 1024, headers={"x-request-id": "unknown"})
    assert unknown.status_code == 401 and served.probe.received["unknown"] == 0
    assert served.http.get("/v1/nothing", headers=master("unknown-keyed")).status_code == 404


def _routes(routes: list[Any]) -> Iterator[tuple[str, list[str]]]:
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)
        elif isinstance(route, APIRoute):
            yield route.path, [d.call.__name__ for d in route.dependant.dependencies if d.call is not None]
        elif isinstance(route, Mount):
            yield route.path + "/", []
        else:
            yield route.path, []


def test_every_route_without_an_auth_dependency_is_a_public_path(served: Served) -> None:
    seen = dict(_routes(served.app.routes))
    assert "/v1/chat/completions" in seen and "/dashboard" in seen
    for path, dependencies in seen.items():
        authenticated = bool({"authorize", "require_key"} & set(dependencies))
        concrete = path.replace("{name}", "app.js")
        assert is_public(concrete) is not authenticated, (path, dependencies)
