"""Hostile model names against a provider's upstream URL paths, for each provider's
``test_*_model_paths.py``.

``check_targets`` sends one request per name through the running gateway and reads the
fake's ``wire`` log (each request target as it arrived, raw): the name must have gone to
exactly the expected target (its parts percent-encoded, under the provider's base path) or
have been refused with a 400 naming ``model`` before any upstream call. The expected
targets are written out literally in the tables below and in each provider's test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tests.conftest import RunningGateway
from tests.fakes.server import FakeUpstream

ATTACK = "x/../../../../internal/secret#"
"""The name from the adversarial run: reached ``POST /internal/secret`` on the provider host."""

ONE_SEGMENT: dict[str, str] = {
    "a?key=1": "a%3Fkey%3D1",
    "a#frag": "a%23frag",
    "50%off": "50%25off",
    "a%2F..%2Fb": "a%252F..%252Fb",
    "%2e%2e": "%252e%252e",
    "a b+c": "a%20b%2Bc",
    "a:b;c=d@e&f": "a%3Ab%3Bc%3Dd%40e%26f",
    "a..b": "a..b",
    "a\\..\\b": "a%5C..%5Cb",
    "caf\u00e9": "caf%C3%A9",
    "ok-Name_1.2~x": "ok-Name_1.2~x",
}
"""Names that are one path segment, and that segment as it must appear on the wire."""

DOT_SEGMENTS = (ATTACK, "..", ".", "a/..", "../a", "a/./b", "a//b", "a/", "/a")
"""Names that hold an empty, ``.`` or ``..`` segment once split at ``/``."""

SLASHED: dict[str, str] = {"org/a?b#c": "org/a%3Fb%23c", "org/50%": "org/50%25", "o.o/m..m": "o.o/m..m"}
"""Two-segment names and their segments on the wire, for providers whose names hold one ``/``."""

Send = Callable[[RunningGateway, str], Any]


def chat(gw: RunningGateway, model: str, **extra: Any) -> Any:
    return gw.http.post("/v1/chat/completions",
                        json={"model": model, "messages": [{"role": "user", "content": "hi"}], **extra})


def embed(gw: RunningGateway, model: str) -> Any:
    return gw.http.post("/v1/embeddings", json={"model": model, "input": ["hi"]})


def _error(response: Any) -> Any:
    try:
        return response.json().get("error") or {}
    except ValueError:
        return response.text[:200]


def check_targets(gw: RunningGateway, fake: FakeUpstream, provider: str, cases: Mapping[str, str | None],
                  send: Send = chat, follow_up: tuple[str, ...] = (), ignore: tuple[str, ...] = ()) -> None:
    """For each ``name -> target`` of ``cases``, send ``provider/name``: ``None`` means a 400
    naming ``model`` with no upstream request; a target means the first upstream request went
    to exactly it (raw path and query). Later requests (a prediction poll) must start with one
    of ``follow_up``; targets starting with one of ``ignore`` (an OAuth token fetch) are left
    out. Every mismatch is collected, so one run shows them all."""
    problems: list[str] = []
    for name, expected in cases.items():
        fake.wire.clear()
        response = send(gw, f"{provider}/{name}")
        seen = [target for method, target in fake.wire if not target.startswith(ignore)]
        if expected is None:
            error = _error(response)
            if response.status_code != 400 or not isinstance(error, dict) or error.get("param") != "model" or seen:
                problems.append(f"{name!r}: {response.status_code} {error} upstream saw {seen}")
        elif seen[:1] != [expected] or not all(target.startswith(follow_up) for target in seen[1:]):
            problems.append(f"{name!r}: expected {expected!r}, upstream saw {seen} ({response.status_code})")
    assert not problems, "\n".join(problems)


def check_fixed_path(gw: RunningGateway, fake: FakeUpstream, provider: str, target: str,
                     send: Send = chat, names: tuple[str, ...] = (*DOT_SEGMENTS, *ONE_SEGMENT, *SLASHED)) -> None:
    """For a provider that sends the model in the body only: every name goes to ``target``
    and arrives in the body's ``model`` unchanged."""
    problems: list[str] = []
    for name in names:
        fake.wire.clear()
        fake.requests.clear()
        response = send(gw, f"{provider}/{name}")
        sent = fake.requests[-1].body.get("model") if fake.requests else None
        if [seen for _, seen in fake.wire] != [target] or sent != name:
            problems.append(f"{name!r}: upstream saw {fake.wire} with model {sent!r} ({response.status_code})")
    assert not problems, "\n".join(problems)
