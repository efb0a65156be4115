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
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator


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


def _expand(value: Any, env: Mapping[str, str], where: str) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, env, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    if value.startswith("os.environ/"):
        name = value.removeprefix("os.environ/")
        if name not in env:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return env[name]

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return env[name]

    return _REF.sub(substitute, value)


def _location(error: Mapping[str, Any]) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


def parse_config(raw: Any, env: Mapping[str, str], source: str = "config") -> GatewayConfig:
    """Validate a loaded YAML document; errors name the file and the path inside it."""
    if raw is None:
        return GatewayConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping with 'providers' and/or 'models'")
    expanded = _expand(raw, env, source)
    try:
        return GatewayConfig.model_validate(expanded)
    except ValidationError as exc:
        problems = "; ".join(f"{_location(e)}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{source}: {problems}") from None


def load_config(path: Path | None, env: Mapping[str, str]) -> GatewayConfig:
    if path is None:
        return GatewayConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return parse_config(raw, env, str(path))
