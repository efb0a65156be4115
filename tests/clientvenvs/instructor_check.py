"""Drive instructor against the gateway; run with ``tests/clientvenvs/.venv-instructor``.

Usage: ``instructor_check.py <gateway>/v1 <model> <scenario> [...]``. Prints one JSON line, an object
with one entry per scenario: the extracted ``User`` (or the error instructor raised) and the id of the
chat completion it was read from. Scenarios, all ``instructor.from_openai(OpenAI(base_url=..., api_key=...))``
with ``response_model=User``:

- ``tools``: the default mode (``Mode.TOOLS``): a ``User`` function tool, forced by ``tool_choice``;
- ``json``: ``Mode.JSON``: ``response_format={"type": "json_object"}`` and the schema in a system message;
- ``retry``: the default mode with ``max_retries=2``: a tool call the validator rejects is re-asked (the
  assistant's tool call, then a ``tool`` message carrying the validation error);
- ``json_retry``: ``Mode.JSON`` with ``max_retries=2``: the re-ask is a user message with the error.

The library is used as a user would: nothing is patched.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import loopback_guard  # noqa: F401  (before the client libraries: loopback only from here on)

# isort: split
import instructor
import openai
from openai import OpenAI
from pydantic import BaseModel, field_validator


class User(BaseModel):
    """A person named in the text."""

    name: str
    age: int

    @field_validator("name")
    @classmethod
    def name_in_capitals(cls, value: str) -> str:
        if value != value.upper():
            raise ValueError("the name must be written in capitals")
        return value


PROMPT = [{"role": "user", "content": "Extract: ADA LOVELACE is 36 years old."}]


def run(scenario: str, base: str, model: str) -> dict[str, Any]:
    if scenario not in ("tools", "json", "retry", "json_retry"):
        raise SystemExit(f"unknown scenario {scenario!r}")
    options = {"mode": instructor.Mode.JSON} if scenario.startswith("json") else {}  # else instructor's default
    client = instructor.from_openai(OpenAI(base_url=base, api_key="sk-any-client-key", max_retries=0, timeout=30),
                                    **options)
    try:
        user, completion = client.chat.completions.create_with_completion(
            model=model, response_model=User, messages=PROMPT, max_retries=2 if scenario.endswith("retry") else 1)
    except Exception as exc:  # reported, for the test to show
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"user": user.model_dump(), "completion_id": completion.id, "finish_reason":
            completion.choices[0].finish_reason}


def main() -> None:
    base, model, *scenarios = sys.argv[1:]
    print(json.dumps({"openai": openai.__version__, "instructor": instructor.__version__,
                      **{scenario: run(scenario, base, model) for scenario in scenarios}}))


if __name__ == "__main__":
    main()
