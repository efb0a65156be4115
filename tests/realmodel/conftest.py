"""A real OpenAI-compatible inference server for ``tests/realmodel``: llama-cpp-python's
``llama_cpp.server`` with Gemma 3 270M, and one gateway in front of it.

The session fixture installs the server when it is missing (``install.py``: minutes the first time
on a machine, seconds after), starts it on a free loopback port and stops it after the session. An
install that fails fails these tests with the installer's message (no silent skip); only
``GATEWAY_REALMODEL=skip`` skips them, for a machine without a C++ compiler.

The server answers one request at a time, so the tests call it (directly and through the gateway)
one request after another. It runs one thread: on a 2-core machine shared with other work, ggml's
threads waiting on each other made two threads several times slower than one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningGateway, make_settings
from tests.realmodel import install

STARTUP_SECONDS = 120.0


@dataclass(frozen=True)
class LlamaServer:
    url: str
    model: str
    log: Path

    @property
    def api(self) -> str:
        return self.url + "/v1"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _installed() -> None:
    if os.environ.get("GATEWAY_REALMODEL") == "skip":
        pytest.skip("GATEWAY_REALMODEL=skip: the real-model tests are switched off")
    if install.ready():
        return
    try:
        install.install()
    except install.InstallError as exc:
        pytest.fail(f"could not install the real-model server (python tests/realmodel/install.py): {exc}",
                    pytrace=False)


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()[-3000:]}",
                        pytrace=False)
        try:
            if httpx.get(url + "/v1/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    pytest.fail(f"llama_cpp.server did not answer within {STARTUP_SECONDS:g} s:\n{log.read_text()[-3000:]}",
                pytrace=False)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    _installed()
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    argv = [str(install.python()), "-m", "llama_cpp.server", "--model", str(install.model_path()),
            "--model_alias", install.MODEL_ALIAS, "--chat_format", "gemma", "--host", "127.0.0.1",
            "--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--verbose", "False"]
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(process, url, log)
        yield LlamaServer(url, install.MODEL_ALIAS, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def direct(llama_server: LlamaServer) -> Iterator[httpx.Client]:
    """A client for the server itself, bypassing the gateway."""
    with httpx.Client(base_url=llama_server.url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def realmodel_gateway(llama_server: LlamaServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    """A gateway reaching the server both as ``openai/<model>`` (``OPENAI_BASE_URL``; any key will do,
    the server was started without one) and as the ``llamacpp/`` preset (``LLAMACPP_BASE_URL``)."""
    env = {"OPENAI_API_KEY": "sk-local-unused", "OPENAI_BASE_URL": llama_server.api,
           "LLAMACPP_BASE_URL": llama_server.api}
    gateway = RunningGateway(make_settings(tmp_path_factory.mktemp("gateway"), env, read_timeout=120.0))
    gateway.http.timeout = httpx.Timeout(120)
    yield gateway
    gateway.stop()
