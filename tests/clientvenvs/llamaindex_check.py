"""Drive llama-index's ``OpenAILike`` against the gateway; run with ``tests/clientvenvs/.venv-llamaindex``.

Usage: ``llamaindex_check.py <gateway>/v1 <model> <scenario> [...]``. Prints one JSON line, an object
with one entry per scenario. Scenarios:

- ``complete``, ``stream_complete``, ``chat``: ``OpenAILike`` with its defaults (``is_chat_model=False``),
  so all three go to the legacy ``POST /v1/completions`` (``chat`` renders the messages into one prompt);
- ``chat_model_chat``, ``chat_model_stream_chat``: ``is_chat_model=True``, so ``POST /v1/chat/completions``.

The library is used as a user would: nothing is patched.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import loopback_guard  # noqa: F401  (before the client libraries: loopback only from here on)

# isort: split
import openai
from llama_index.core.llms import ChatMessage
from llama_index.llms.openai_like import OpenAILike

MESSAGES = [ChatMessage(role="system", content="You are terse."),
            ChatMessage(role="user", content="chat through the gateway")]


def _llm(base: str, model: str, **options: Any) -> OpenAILike:
    return OpenAILike(model=model, api_base=base, api_key="sk-any-client-key", max_retries=0, timeout=30, **options)


def _raw(raw: Any) -> dict[str, Any]:
    """What the library kept of the wire response (an ``openai`` model object or a dict)."""
    if raw is None:
        return {}
    dumped: dict[str, Any] = raw.model_dump() if hasattr(raw, "model_dump") else dict(raw)
    return {key: dumped.get(key) for key in ("id", "object", "model", "usage")}


def run(scenario: str, base: str, model: str) -> dict[str, Any]:
    if scenario == "complete":
        response = _llm(base, model).complete("hello llama")
        return {"text": response.text, "raw": _raw(response.raw)}
    if scenario == "stream_complete":
        pieces = list(_llm(base, model).stream_complete("stream me please"))
        return {"deltas": [p.delta for p in pieces], "text": pieces[-1].text if pieces else None}
    if scenario == "chat":
        chat = _llm(base, model).chat(MESSAGES)
        return {"role": str(chat.message.role.value), "content": chat.message.content, "raw": _raw(chat.raw)}
    if scenario == "chat_model_chat":
        chat = _llm(base, model, is_chat_model=True).chat(MESSAGES)
        return {"role": str(chat.message.role.value), "content": chat.message.content, "raw": _raw(chat.raw)}
    if scenario == "chat_model_stream_chat":
        pieces = list(_llm(base, model, is_chat_model=True).stream_chat(MESSAGES))
        return {"deltas": [p.delta for p in pieces], "content": pieces[-1].message.content if pieces else None,
                "role": str(pieces[-1].message.role.value) if pieces else None}
    raise SystemExit(f"unknown scenario {scenario!r}")


def main() -> None:
    base, model, *scenarios = sys.argv[1:]
    print(json.dumps({"openai": openai.__version__,
                      **{scenario: run(scenario, base, model) for scenario in scenarios}}))


if __name__ == "__main__":
    main()
