"""Shared fixtures: fake upstreams, a running gateway over real HTTP, and a network guard."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.settings import Settings
from gateway.store.db import create_engine_for, run_migrations
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI
from tests.fakes.server import ServerThread
from tests.postgres import module_postgres_url, postgres_url

__all__ = ["module_postgres_url", "postgres_url"]

_real_connect = socket.socket.connect


def _loopback_only(self: socket.SocketType, address: Any) -> None:
    host = address[0] if isinstance(address, tuple) else address
    local = not isinstance(host, str) or host.startswith("127.") or host in ("::1", "localhost")
    if self.family in (socket.AF_INET, socket.AF_INET6) and not local:
        raise OSError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    """Any test that would leave loopback fails instead."""
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database migrated to the latest schema: a fresh SQLite file, then a fresh
    PostgreSQL database (``postgres_url``)."""
    url = f"sqlite:///{tmp_path}/gateway.db" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    run_migrations(url)
    engine = create_engine_for(url)
    yield engine
    engine.dispose()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def make_settings(tmp_path: Path, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'gateway.db'}",
        "record_flush_interval": 0.05,
        "max_retries": 0,
        "spool_dir": tmp_path / "spool",
        "environment": dict(env or {}),
    }
    values.update(overrides)
    return Settings.load(env_file=None, **values)


class RunningGateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.server = ServerThread(self.app).start()
        self.url = self.server.url
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def records(self, **params: Any) -> list[dict[str, Any]]:
        """Activity records after flushing the writer's buffer."""
        self.flush()
        headers = {"authorization": f"Bearer {self.settings.master_key.get_secret_value()}"} \
            if self.settings.master_key else {}
        response = self.http.get("/v1/activity", params={"limit": 500, **params}, headers=headers)
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    def flush(self) -> None:
        """Write every buffered record now (runs on the server's event loop)."""
        asyncio.run_coroutine_threadsafe(self.app.state.writer.flush(), self.app.state.loop).result(timeout=30)

    def stop(self) -> None:
        self.http.close()
        self.server.stop()


GatewayFactory = Callable[..., RunningGateway]


@pytest.fixture
def gateway_factory(tmp_path: Path) -> Iterator[GatewayFactory]:
    started: list[RunningGateway] = []

    def start(env: dict[str, str] | None = None, config: str | None = None, **overrides: Any) -> RunningGateway:
        if config is not None:
            path = tmp_path / f"config{len(started)}.yaml"
            path.write_text(config)
            overrides["config"] = path
        gw = RunningGateway(make_settings(tmp_path, env, **overrides))
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.stop()


@pytest.fixture
def gateway(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    """A gateway whose ``openai`` provider points at the fake OpenAI server."""
    return gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"})


def translated_responses_env(fake: FakeOpenAI) -> dict[str, str]:
    """The ``openai`` provider at ``fake``, serving ``/v1/responses`` by translation (through the
    fake's chat completions) instead of relaying it."""
    return {"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1", "OPENAI_RESPONSES_API": "translated"}

