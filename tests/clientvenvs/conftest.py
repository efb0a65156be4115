"""Client libraries that cannot share the main venv, driven against the gateway over real HTTP.

Each library lives in its own venv (``install.py``: ``tests/clientvenvs/.venv-<name>``). The first test
that needs one installs every missing venv side by side (about half a minute on 2 cores, once per
checkout; nothing after). A failed install fails these tests with the installer's message (no silent
skip); only ``GATEWAY_CLIENT_VENVS=skip`` skips them.

A test runs ``<name>_check.py`` with that venv's python and the gateway's ``/v1`` URL; the script
prints one JSON line with what the library returned, and the test asserts on it, on what the fake
upstream received and on the gateway's records.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.clientvenvs import install

HERE = Path(__file__).resolve().parent
SCRIPT_SECONDS = 60

ClientRunner = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def _client_venv_failures(request: pytest.FixtureRequest) -> dict[str, install.InstallError]:
    """Install every missing venv (side by side), its progress shown live; the failures by venv name."""
    if os.environ.get("GATEWAY_CLIENT_VENVS") == "skip":
        pytest.skip("GATEWAY_CLIENT_VENVS=skip: the client-library venv tests are switched off")
    if all(install.ready(name) for name in install.REQUIREMENTS):
        return {}
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        return install.install_all()


def _client_environment() -> dict[str, str]:
    """This environment less ``OPENAI_*`` and proxies: the scripts name their URL and key, and talk to
    the gateway on loopback directly."""
    proxies = {"http_proxy", "https_proxy", "all_proxy"}
    return {key: value for key, value in os.environ.items()
            if not key.startswith("OPENAI_") and key.lower() not in proxies}


def _runner(name: str, failures: dict[str, install.InstallError]) -> ClientRunner:
    if name in failures or not install.ready(name):
        reason = failures.get(name, "the venv is not ready after installing")
        pytest.fail(f"could not install the {name} client venv (python tests/clientvenvs/install.py {name}): "
                    f"{reason}", pytrace=False)
    script = HERE / f"{name}_check.py"

    def run(*args: str) -> dict[str, Any]:
        completed = subprocess.run([str(install.python(name)), str(script), *args], capture_output=True, text=True,
                                   timeout=SCRIPT_SECONDS, check=False, stdin=subprocess.DEVNULL,
                                   env=_client_environment())
        assert completed.returncode == 0, f"{script.name} exited {completed.returncode}:\n{completed.stderr[-4000:]}"
        lines = completed.stdout.strip().splitlines()
        assert lines, f"{script.name} printed nothing:\n{completed.stderr[-4000:]}"
        result: dict[str, Any] = json.loads(lines[-1])
        return result

    return run


@pytest.fixture
def llamaindex(_client_venv_failures: dict[str, install.InstallError]) -> ClientRunner:
    """Runs ``llamaindex_check.py`` in ``.venv-llamaindex`` with the given arguments; returns its JSON."""
    return _runner("llamaindex", _client_venv_failures)


@pytest.fixture
def instructor(_client_venv_failures: dict[str, install.InstallError]) -> ClientRunner:
    """Runs ``instructor_check.py`` in ``.venv-instructor`` with the given arguments; returns its JSON."""
    return _runner("instructor", _client_venv_failures)
