"""Typed settings: the only module that reads the environment.

``GATEWAY_*`` variables (and a ``.env`` file in the working directory) configure
the gateway itself; provider variables (``OPENAI_API_KEY``, ...) are captured in
``environment`` and turned into credentials using each provider's declared
``credential_env`` map.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _environment(env_file: str | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if env_file and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def _variables(cls: type[BaseSettings]) -> dict[str, str]:
    """Each settable field and its variable (``GATEWAY_<FIELD>``)."""
    prefix = str(cls.model_config.get("env_prefix") or "")
    return {name: f"{prefix}{name}".upper() for name in cls.model_fields if name != "environment"}


class Settings(BaseSettings):
    """Every setting, with its default; ``.env.example`` documents each one."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = "info"
    log_format: Literal["text", "json"] = "text"
    access_log: bool = True
    database_url: str = "sqlite:///./gateway.db"
    config: Path | None = None
    master_key: SecretStr | None = None
    redis_url: str | None = None
    node_id: int | None = Field(default=None, ge=0, le=15)
    drop_unsupported_params: bool = False
    max_body_bytes: int = 16 * 1024 * 1024
    capture_bodies: bool = False
    record_queue_size: int = 50_000
    record_batch_size: int = 500
    record_flush_interval: float = 0.2
    spool_dir: Path = Path("./spool")
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    total_timeout: float = 900.0
    stream_idle_timeout: float = 120.0
    max_retries: int = 2
    upstream_max_connections: int = Field(default=1000, ge=1)
    """Connections per upstream origin (host and port), busy or idle; a request finding all busy
    waits for one up to ``connect_timeout``, then fails with ``upstream_pool_timeout``."""
    retry_base_delay: float = 0.25
    retry_max_delay: float = 8.0
    cooldown_failures: int = 3
    cooldown_seconds: float = 30.0
    migrate_on_start: bool = True
    environment: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)
    """The process environment (provider credentials among it): never shown by ``repr``/``str``."""
    journal: bool = True
    journal_dir: Path | None = None
    journal_fsync_interval: float = Field(default=0.1, gt=0)
    journal_segment_records: int = Field(default=1000, ge=1)
    machine_lease_seconds: float = Field(default=60.0, ge=4)
    models_cache_seconds: float = Field(default=300.0, ge=0)
    models_timeout: float = Field(default=5.0, gt=0)
    tpm_default_output_tokens: int = Field(default=1024, ge=0)
    max_concurrency: int = Field(default=1024, ge=0)
    sse_ping_seconds: float = Field(default=15.0, ge=0)
    default_provider: str | None = Field(default=None, min_length=1)
    """The provider a bare model name (``gpt-4o-mini``, no alias) goes to; unset: the one listing it."""

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @classmethod
    def load(cls, env_file: str | None = ".env", **overrides: Any) -> Settings:
        """Settings from the environment and ``env_file`` (read once, the process environment
        winning over it); ``overrides`` win over both. Given ``environment`` in ``overrides``, that
        mapping stands for the process environment (and ``env_file`` is not read)."""
        given = overrides.pop("environment", None)
        environment = dict(given) if given is not None else _environment(env_file)
        values = {name: environment[var] for name, var in _variables(cls).items() if var in environment}
        return cls(_env_file=None, **{**values, **overrides}, environment=environment)

    def env(self) -> Mapping[str, str]:
        return self.environment

    def journal_path(self) -> Path:
        """Where the record journal lives: ``journal_dir``, or ``journal`` next to the spool directory."""
        return self.journal_dir or self.spool_dir.parent / "journal"
