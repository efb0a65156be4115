"""The optional YAML config file (``GATEWAY_CONFIG``): providers and model aliases.

::

    providers:
      openai:
        credential: {key: "${OPENAI_API_KEY}", base_url: "https://api.openai.com/v1"}
        timeouts: {connect: 5, read: 300, total: 600, stream_idle: 60}
    models:
      - name: fast                    # the public model name clients send
        model: openai/gpt-4o-mini     # provider/upstream-model
        parameters: {model.temperature: 0.2}
        credential: {key: "${OTHER_OPENAI_KEY}"}   # optional, per alias

String values may reference environment variables as ``${NAME}`` or
``os.environ/NAME``; a reference to an unset variable is a config error.

``read_config`` reads a file as far as it goes and collects every problem of the document
(YAML syntax, each entry's schema, unset variables) with its line; ``load_config`` raises
``ConfigError`` listing them all. ``gateway.config_report`` adds what needs the provider registry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeGuard, TypeVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from gateway.config_source import Loc, Problem, did_you_mean, load_yaml, located, report_text, yaml_problem


class ConfigError(Exception):
    """The config file is missing, unreadable or invalid; the message says where."""


class TimeoutsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connect: float | None = Field(default=None, gt=0)
    read: float | None = Field(default=None, gt=0)
    total: float | None = Field(default=None, gt=0)
    stream_idle: float | None = Field(default=None, gt=0)


class ProviderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential: dict[str, str] = Field(default_factory=dict)
    timeouts: TimeoutsConfig = Field(default_factory=TimeoutsConfig)
    models: list[str] = Field(default_factory=list, description="Upstream models to list in /v1/models")


class ModelAlias(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    model: str = Field(min_length=1, description="provider/upstream-model")
    parameters: dict[str, Any] = Field(default_factory=dict)
    credential: dict[str, str] = Field(default_factory=dict)
    fallbacks: list[str] = Field(default_factory=list)

    @field_validator("model")
    @classmethod
    def _has_provider(cls, value: str) -> str:
        provider, sep, upstream = value.partition("/")
        if not sep or not provider or not upstream:
            raise ValueError("must be 'provider/upstream-model', e.g. 'openai/gpt-4o-mini'")
        return value

    @field_validator("parameters")
    @classmethod
    def _model_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        bad = [k for k in value if not k.startswith("model.")]
        if bad:
            raise ValueError(f"parameter keys must start with 'model.' (got {', '.join(bad)})")
        return value

    @property
    def provider(self) -> str:
        return self.model.partition("/")[0]

    @property
    def upstream_model(self) -> str:
        return self.model.partition("/")[2]


class ModelPrice(BaseModel):
    """List prices in USD per million tokens (``cached_input`` omitted: cached tokens cost ``input``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: Decimal = Field(ge=0)
    output: Decimal = Field(ge=0)
    cached_input: Decimal | None = Field(default=None, ge=0)


PriceKey = Annotated[str, StringConstraints(pattern=r"^[^/\s]+/\S+$")]
"""``provider/model``, as in ``openai/gpt-4o-mini``."""


class GatewayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    models: list[ModelAlias] = Field(default_factory=list)
    prices: dict[PriceKey, ModelPrice] = Field(default_factory=dict, description="Overrides of the shipped prices")

    @model_validator(mode="after")
    def _unique_names(self) -> GatewayConfig:
        seen: set[str] = set()
        for alias in self.models:
            if alias.name in seen:
                raise ValueError(f"model alias '{alias.name}' is defined twice")
            seen.add(alias.name)
        return self

    def alias(self, name: str) -> ModelAlias | None:
        for alias in self.models:
            if alias.name == name:
                return alias
        return None


_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENVIRON = "os.environ/"
_NOT_A_MAPPING = "the top level must be a mapping with 'providers' and/or 'models'"
M = TypeVar("M", bound=BaseModel)


def _references(value: str) -> list[str]:
    if value.startswith(_ENVIRON):
        return [value.removeprefix(_ENVIRON)]
    return _REF.findall(value)


def _expand(value: Any, env: Mapping[str, str], loc: Loc, problems: list[Problem]) -> Any:
    """``value`` with environment references replaced; a string naming an unset variable is a
    problem and stays as written."""
    if isinstance(value, dict):
        return {k: _expand(v, env, (*loc, str(k)), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, (*loc, i), problems) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    unset = [name for name in _references(value) if name not in env]
    problems.extend(Problem(loc, f"environment variable {name} is not set") for name in unset)
    if unset:
        return value
    if value.startswith(_ENVIRON):
        return env[value.removeprefix(_ENVIRON)]
    return _REF.sub(lambda match: env[match.group(1)], value)


def _is_model(kind: Any) -> TypeGuard[type[BaseModel]]:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _keys_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys the mapping at ``loc`` inside ``model`` allows (none if it is not a model's)."""
    kind: Any = model
    for part in loc:
        if _is_model(kind):
            field = kind.model_fields.get(str(part))
            kind = field.annotation if field else None
        else:
            kind = (get_args(kind) or (None,))[-1]
    return list(kind.model_fields) if _is_model(kind) else []


def _schema_problem(model: type[BaseModel], prefix: Loc, error: ErrorDetails) -> Problem:
    loc = tuple(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden" and loc:
        message += did_you_mean(str(loc[-1]), _keys_at(model, loc[:-1]), "allowed")
    return Problem((*prefix, *loc), message)


def _validate(model: type[M], data: Any, prefix: Loc, problems: list[Problem]) -> M | None:
    """``data`` as ``model``, appending every schema problem. A mapping with bad fields is retried
    without them, so the fields that did parse can still be checked; ``None`` if that fails too."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(_schema_problem(model, prefix, error) for error in exc.errors())
        bad = {error["loc"][0] for error in exc.errors() if error["loc"]}
    if not isinstance(data, dict) or not bad:
        return None
    try:
        return model.model_validate({k: v for k, v in data.items() if k not in bad})
    except ValidationError:
        return None


def _aliases(section: Any, problems: list[Problem]) -> list[tuple[int, ModelAlias]]:
    """Each ``models[i]`` validated on its own, with its index; a name defined twice keeps its first."""
    out: list[tuple[int, ModelAlias]] = []
    first: dict[str, int] = {}
    for i, entry in enumerate(section if isinstance(section, list) else []):
        alias = _validate(ModelAlias, entry, ("models", i), problems)
        if alias is not None and alias.name in first:
            twice = f"model alias '{alias.name}' is defined twice (first at models[{first[alias.name]}])"
            problems.append(Problem(("models", i, "name"), twice))
        elif alias is not None:
            first[alias.name] = i
            out.append((i, alias))
    return out


def _providers(section: Any, problems: list[Problem]) -> dict[str, ProviderConfig]:
    """Each ``providers.<name>`` validated on its own."""
    out: dict[str, ProviderConfig] = {}
    for name, entry in (section if isinstance(section, dict) else {}).items():
        provider = _validate(ProviderConfig, entry, ("providers", str(name)), problems)
        if provider is not None:
            out[str(name)] = provider
    return out


_ENTRY_BY_ENTRY: dict[str, type] = {"models": list, "providers": dict}


def _rest(doc: dict[Any, Any]) -> dict[Any, Any]:
    """``doc`` without the sections validated entry by entry (one of the wrong type stays, to be refused)."""
    return {k: v for k, v in doc.items() if not isinstance(v, _ENTRY_BY_ENTRY.get(k, ()))}


def _declared_aliases(section: Any) -> frozenset[str]:
    entries = section if isinstance(section, list) else []
    return frozenset(e["name"] for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str))


@dataclass(frozen=True, slots=True)
class ParsedConfig:
    """A config document, read as far as it goes.

    ``config`` holds the entries that validated (all of them when ``problems`` is empty), and
    ``config.models[k]`` is ``models[alias_index[k]]`` in the file. ``aliases`` and ``providers``
    name every entry the file declares, valid or not. ``problems`` are in the order found, their
    lines not yet filled in: ``located(problems, node)`` does that.
    """

    source: str
    config: GatewayConfig
    problems: tuple[Problem, ...] = ()
    alias_index: tuple[int, ...] = ()
    aliases: frozenset[str] = frozenset()
    providers: tuple[str, ...] = ()
    node: yaml.Node | None = None


def parse_document(raw: Any, env: Mapping[str, str], source: str = "config") -> ParsedConfig:
    """Expand and validate a loaded YAML document, collecting every problem instead of stopping at
    the first: unset environment variables, then the schema of each entry on its own."""
    if raw is None:
        return ParsedConfig(source, GatewayConfig())
    if not isinstance(raw, dict):
        return ParsedConfig(source, GatewayConfig(), (Problem((), _NOT_A_MAPPING),))
    problems: list[Problem] = []
    doc = _expand(raw, env, (), problems)
    models, providers = doc.get("models"), doc.get("providers")
    aliases = _aliases(models, problems)
    provider_configs = _providers(providers, problems)
    rest = _validate(GatewayConfig, _rest(doc), (), problems)
    config = GatewayConfig(providers=provider_configs, models=[alias for _, alias in aliases],
                           prices=rest.prices if rest else {})
    declared = tuple(str(name) for name in providers) if isinstance(providers, dict) else ()
    return ParsedConfig(source, config, tuple(problems), tuple(i for i, _ in aliases), _declared_aliases(models),
                        declared)


def _unreadable(source: str, problem: Problem) -> ParsedConfig:
    return ParsedConfig(source, GatewayConfig(), (problem,))


def read_config(path: Path, env: Mapping[str, str]) -> ParsedConfig:
    """The file at ``path`` read, parsed and validated as far as it goes; never raises for what
    is wrong with the file (an unreadable file or bad YAML is its one problem)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return _unreadable(source, Problem((), f"cannot read the config file ({exc.strerror})"))
    except UnicodeDecodeError as exc:
        return _unreadable(source, Problem((), f"the config file is not UTF-8 text ({exc.reason})"))
    try:
        raw, node = load_yaml(text)
    except yaml.YAMLError as exc:
        return _unreadable(source, yaml_problem(exc))
    return replace(parse_document(raw, env, source), node=node)


def _valid(parsed: ParsedConfig) -> GatewayConfig:
    if parsed.problems:
        raise ConfigError(report_text(parsed.source, located(parsed.problems, parsed.node)))
    return parsed.config


def parse_config(raw: Any, env: Mapping[str, str], source: str = "config") -> GatewayConfig:
    """Validate a loaded YAML document. Raises ``ConfigError`` listing every problem, each naming
    ``source`` and the path inside the document."""
    return _valid(parse_document(raw, env, source))


def load_config(path: Path | None, env: Mapping[str, str]) -> GatewayConfig:
    """The config file at ``path`` (``None``: no file, an empty config). Raises ``ConfigError``
    listing every problem of the document itself (YAML, schema, environment variables), each with
    its line; what only the provider registry can tell is ``gateway.config_report``'s."""
    if path is None:
        return GatewayConfig()
    return _valid(read_config(path, env))
