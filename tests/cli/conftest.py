"""What every CLI test starts from: a working directory of its own and an environment without any
provider credential or ``GATEWAY_*`` setting of the machine running the tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.callers.registry import load_registry


@pytest.fixture
def bare_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Chdir into ``tmp_path`` and unset every provider credential variable and ``GATEWAY_*``
    variable (restored after the test); returns ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    for spec in load_registry():
        for variable in spec.credential_env.values():
            monkeypatch.delenv(variable, raising=False)
    for variable in [name for name in os.environ if name.startswith("GATEWAY_")]:
        monkeypatch.delenv(variable)
    return tmp_path
