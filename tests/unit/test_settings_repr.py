"""Settings can be printed or logged without showing a secret: the master key is a SecretStr and
the captured environment (provider credentials) is left out of ``repr`` and ``str``."""

from __future__ import annotations

import logging

import pytest

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
