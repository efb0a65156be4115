"""Schemathesis against the gateway's own ``/openapi.json``, over real HTTP.

Each operation gets a bounded, deterministic run (``derandomize``) of positive
examples (data that fits the document; two chat or embedding bodies in three are
made servable - the fake OpenAI upstream's model, no refused fields, half of the
chats streamed - so valid requests go all the way through and back) and of negative
examples (data that does not fit). Every response must be: no 5xx, a status the
document declares, the declared content type, and a body matching the declared
schema (each SSE event of a stream included); a schema-violating body must be
refused with a 4xx. No operation is excluded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.app import create_app
from tests.conftest import RunningGateway, make_settings
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI

MASTER_KEY = "schemathesis-master-key"
AUTH = {"authorization": f"Bearer {MASTER_KEY}"}
MAX_EXAMPLES = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 25}
REAL_MODELS = {"POST /v1/chat/completions": "openai/gpt-4o-mini",
               "POST /v1/embeddings": "openai/text-embedding-3-small"}
ROLES = {"system", "developer", "user", "assistant", "tool"}
SERVE = ("as generated", "servable", "servable, streamed")
MESSAGE_FIELDS = {"role", "content", "name", "tool_calls", "tool_call_id", "refusal"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _cases() -> list[Any]:
    """(operation, mode) pairs. Negative examples need a body or a query parameter: an
    unconstrained string in the path (``/v1/keys/{key_id}``) has no invalid value."""
    document = create_app(make_settings(Path("/nonexistent"))).openapi()
    cases = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            cases.append(pytest.param(label, GenerationMode.POSITIVE, id=f"{label}-positive"))
            query = [p for p in operation.get("parameters", []) if p["in"] == "query"]
            if query or operation.get("requestBody"):
                cases.append(pytest.param(label, GenerationMode.NEGATIVE, id=f"{label}-negative"))
    return cases


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    fake = FakeOpenAI().start()
    env = {"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"}
    gateway = RunningGateway(make_settings(tmp_path_factory.mktemp("schemathesis"), env, master_key=MASTER_KEY))
    yield gateway
    gateway.stop()
    fake.stop()


@pytest.fixture(scope="module")
def schema(running: RunningGateway) -> Any:
    return schemathesis.openapi.from_url(running.url + "/openapi.json")


def _body_fields(schema: Any, label: str) -> set[str]:
    method, path = label.split(" ", 1)
    body = schema.raw_schema["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
    name = body["$ref"].rsplit("/", 1)[-1]
    return set(schema.raw_schema["components"]["schemas"][name]["properties"])


def _servable(body: dict[str, Any], model: str, fields: set[str], stream: bool) -> None:
    """Make a generated body one the fake upstream serves: the real model, no fields the
    gateway refuses by name, and only messages in roles it accepts (the rest stays random)."""
    for name in set(body) - fields:
        del body[name]
    body["model"] = model
    if isinstance(body.get("dimensions"), int | float):
        body["dimensions"] = min(body["dimensions"], 64)  # the fake computes every dimension it is asked for
    if "messages" in body:
        body["stream"] = stream
        kept = [{k: v for k, v in m.items() if k in MESSAGE_FIELDS} for m in body["messages"]
                if isinstance(m, dict) and m.get("role") in ROLES]
        body["messages"] = kept or [{"role": "user", "content": "hello"}]


def _run(schema: Any, running: RunningGateway, label: str, mode: GenerationMode) -> None:
    operation = schema.find_operation_by_label(label)
    assert operation is not None, label
    # A schema-violating body must be refused; query strings are left out of that check, since
    # the framework's leniency there (a repeated parameter, a datetime given as a number) is fine.
    body_operation = label.startswith("POST ")
    checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE and body_operation else CHECKS
    real_model = REAL_MODELS.get(label) if mode is GenerationMode.POSITIVE else None
    fields = _body_fields(schema, label) if real_model else set()

    @hypothesis.settings(max_examples=MAX_EXAMPLES[mode], derandomize=True, deadline=None, database=None,
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                         # large nested bodies from the schemas trip the size and speed checks
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode), serve=st.sampled_from(SERVE))
    def run(case: Any, serve: str) -> None:
        if real_model and serve != "as generated" and isinstance(case.body, dict):
            _servable(case.body, real_model, fields, stream=serve == "servable, streamed")
        response = case.call(base_url=running.url, headers=AUTH, timeout=30)
        case.validate_response(response, checks=checks)

    run()


@pytest.mark.parametrize(("label", "mode"), _cases())
def test_operation_conforms_to_its_document(schema: Any, running: RunningGateway, label: str,
                                            mode: GenerationMode) -> None:
    _run(schema, running, label, mode)
