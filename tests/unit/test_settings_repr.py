"""Settings can be printed or logged without showing a secret: the master key is a SecretStr and
the captured environment (provider credentials) is left out of ``repr`` and ``str``."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from dotenv import dotenv_values

from gateway import settings as settings_module
from gateway.settings import Settings

PROVIDER_KEY = "sk-provider-secret-123456"
MASTER_KEY = "master-secret-abcdef"


def test_repr_str_and_logs_show_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.load(env_file=None, environment={"OPENAI_API_KEY": PROVIDER_KEY}, master_key=MASTER_KEY)
    with caplog.at_level(logging.INFO):
        logging.getLogger("gateway.test").info("settings: %r / %s", settings, settings)
    for text in (repr(settings), str(settings), caplog.text, repr(settings.model_dump())):
        assert PROVIDER_KEY not in text
        assert MASTER_KEY not in text
    assert settings.env()["OPENAI_API_KEY"] == PROVIDER_KEY
    assert settings.master_key is not None and settings.master_key.get_secret_value() == MASTER_KEY


def test_the_env_file_is_read_once_and_configures_both_kinds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One read of ``.env`` gives the gateway's own settings and the provider variables; the process
    environment wins over the file, as it does for every variable."""
    env_file = tmp_path / ".env"
    env_file.write_text(f"GATEWAY_PORT=9123\nGATEWAY_MASTER_KEY={MASTER_KEY}\nOPENAI_API_KEY={PROVIDER_KEY}\n"
                        "GATEWAY_WORKERS=3\n")
    monkeypatch.setenv("GATEWAY_WORKERS", "2")
    reads: list[object] = []
    def counted(path: str | os.PathLike[str] | None) -> dict[str, str | None]:
        reads.append(path)
        return dotenv_values(path)

    monkeypatch.setattr(settings_module, "dotenv_values", counted)
    settings = Settings.load(env_file=str(env_file))
    assert reads == [str(env_file)]
    assert (settings.port, settings.workers) == (9123, 2)
    assert settings.master_key is not None and settings.master_key.get_secret_value() == MASTER_KEY
    assert settings.env()["OPENAI_API_KEY"] == PROVIDER_KEY
    assert MASTER_KEY not in repr(settings) and PROVIDER_KEY not in repr(settings)
