"""Schemathesis against the gateway's own ``/openapi.json``, over real HTTP.

Each operation gets a bounded, deterministic run (``derandomize``) of positive
examples (data that fits the document; two chat or embedding bodies in three are
made servable - the fake OpenAI upstream's model, no refused fields, half of the
chats streamed - so valid requests go all the way through and back) and of negative
examples (data that does not fit). Every response must be: no 5xx, a status the
document declares, the declared content type, and a body matching the declared
schema (each SSE event of a stream included); a request that violates the document
(body, query or path) must be refused with a 4xx. No operation is excluded.

The admin operations that read or write the database (activity, usage, keys) also get
schemathesis' coverage phase (each parameter's boundary values), and run again against
PostgreSQL, which refuses what SQLite takes (NUL in text), and, with fewer examples,
with the database cut off (a closed port), where a 5xx must be the 503
``database_unavailable``, never a 500.
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
               "POST /v1/embeddings": "openai/text-embedding-3-small",
               "POST /v1/completions": "openai/gpt-3.5-turbo-instruct"}
ROLES = {"system", "developer", "user", "assistant", "tool"}
SERVE = ("as generated", "servable", "servable, streamed")
MESSAGE_FIELDS = {"role", "content", "name", "tool_calls", "tool_call_id", "refusal"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
DATABASE_PATHS = ("/v1/activity", "/v1/usage", "/v1/keys")
OUTAGE_EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 10}
CLOSED_PORT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/gateway"
SEED = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "seed"}]}


def _document() -> dict[str, Any]:
    document: dict[str, Any] = create_app(make_settings(Path("/nonexistent"))).openapi()
    return document


def _constrained(parameter: dict[str, Any]) -> bool:
    schema = parameter.get("schema", {})
    return parameter["in"] == "query" or any(k in schema for k in ("pattern", "maxLength", "enum", "maximum"))


def _cases(paths: tuple[str, ...] = ("/",)) -> list[Any]:
    """(operation, mode) pairs for the operations under ``paths``. Negative examples need a
    body, a query parameter or a constrained path parameter: an unconstrained string in the
    path has no invalid value."""
    cases = []
    for path, operations in _document()["paths"].items():
        if not path.startswith(paths):
            continue
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            cases.append(pytest.param(label, GenerationMode.POSITIVE, id=f"{label}-positive"))
            if any(_constrained(p) for p in operation.get("parameters", [])) or operation.get("requestBody"):
                cases.append(pytest.param(label, GenerationMode.NEGATIVE, id=f"{label}-negative"))
    return cases


ADMIN_LABELS = sorted({case.values[0] for case in _cases(DATABASE_PATHS)})


def _seeded(gateway: RunningGateway) -> RunningGateway:
    """``gateway`` with a few records (one of them failed), so the activity, stats and usage
    answers serialize real rows."""
    for model in ("openai/gpt-4o-mini", "openai/gpt-4o-mini", "openai/no-such-model"):
        gateway.http.post("/v1/chat/completions", json={**SEED, "model": model}, headers=AUTH)
    gateway.flush()
    return gateway


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    fake = FakeOpenAI().start()
    env = {"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"}
    gateway = RunningGateway(make_settings(tmp_path_factory.mktemp("schemathesis"), env, master_key=MASTER_KEY))
    yield _seeded(gateway)
    gateway.stop()
    fake.stop()


@pytest.fixture(scope="module")
def on_postgres(tmp_path_factory: pytest.TempPathFactory, module_postgres_url: str) -> Iterator[RunningGateway]:
    fake = FakeOpenAI().start()
    env = {"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"}
    gateway = RunningGateway(make_settings(tmp_path_factory.mktemp("postgres"), env, master_key=MASTER_KEY,
                                           database_url=module_postgres_url))
    yield _seeded(gateway)
    gateway.stop()
    fake.stop()


@pytest.fixture(scope="module")
def cut_off(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    """A gateway whose database is a closed port: every connection attempt is refused."""
    settings = make_settings(tmp_path_factory.mktemp("outage"), database_url=CLOSED_PORT_DATABASE,
                             migrate_on_start=False, master_key=MASTER_KEY)
    gateway = RunningGateway(settings)
    yield gateway
    gateway.stop()


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
    if "prompt" in body:
        body["stream"] = stream
    if "messages" in body:
        body["stream"] = stream
        kept = [{k: v for k, v in m.items() if k in MESSAGE_FIELDS} for m in body["messages"]
                if isinstance(m, dict) and m.get("role") in ROLES]
        body["messages"] = kept or [{"role": "user", "content": "hello"}]


def database_unavailable_only(ctx: Any, response: Any, case: Any) -> None:
    """With the database cut off, a 5xx must be the 503 that says so, never a 500."""
    if response.status_code >= 500:
        assert response.status_code == 503, f"{case.operation.label}: {response.status_code} {response.text[:300]}"
        assert response.json()["error"]["code"] == "database_unavailable", response.text[:300]


OUTAGE_CHECKS = [database_unavailable_only, status_code_conformance, content_type_conformance,
                 response_schema_conformance]


def _run(schema: Any, running: RunningGateway, label: str, mode: GenerationMode, *,
         checks: list[Any] | None = None, examples: dict[GenerationMode, int] = MAX_EXAMPLES) -> None:
    operation = schema.find_operation_by_label(label)
    assert operation is not None, label
    if checks is None:
        checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS
    real_model = REAL_MODELS.get(label) if mode is GenerationMode.POSITIVE else None
    fields = _body_fields(schema, label) if real_model else set()

    @hypothesis.settings(max_examples=examples[mode], derandomize=True, deadline=None, database=None,
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


def _cover(schema: Any, running: RunningGateway, label: str, checks: list[Any]) -> None:
    """Schemathesis' coverage phase: each parameter's boundary and just-out-of-bounds values
    (lengths, integer limits, patterns, types, missing and duplicated parameters, unexpected
    methods), deterministically."""
    operation = schema.find_operation_by_label(label)
    assert operation is not None, label
    config = schema.config.generation_for(operation=operation, phase="coverage")
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    for case in schema.iter_coverage_cases(operation, generation_modes=modes, generation_config=config):
        response = case.call(base_url=running.url, headers=AUTH, timeout=30)
        case.validate_response(response, checks=checks)


@pytest.mark.parametrize("label", ADMIN_LABELS)
def test_admin_operation_boundaries(schema: Any, running: RunningGateway, label: str) -> None:
    _cover(schema, running, label, [*CHECKS, negative_data_rejection])


@pytest.mark.postgres
@pytest.mark.parametrize(("label", "mode"), _cases(DATABASE_PATHS))
def test_admin_operation_conforms_on_postgres(schema: Any, on_postgres: RunningGateway, label: str,
                                              mode: GenerationMode) -> None:
    _run(schema, on_postgres, label, mode)


@pytest.mark.postgres
@pytest.mark.parametrize("label", ADMIN_LABELS)
def test_admin_operation_boundaries_on_postgres(schema: Any, on_postgres: RunningGateway, label: str) -> None:
    _cover(schema, on_postgres, label, [*CHECKS, negative_data_rejection])


@pytest.mark.parametrize(("label", "mode"), _cases(DATABASE_PATHS))
def test_admin_operation_without_its_database_is_a_503(schema: Any, cut_off: RunningGateway, label: str,
                                                       mode: GenerationMode) -> None:
    _run(schema, cut_off, label, mode, checks=OUTAGE_CHECKS, examples=OUTAGE_EXAMPLES)


@pytest.mark.parametrize("label", ADMIN_LABELS)
def test_admin_operation_boundaries_without_its_database(schema: Any, cut_off: RunningGateway, label: str) -> None:
    _cover(schema, cut_off, label, OUTAGE_CHECKS)
