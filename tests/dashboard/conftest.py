"""Dashboard tests: registers the ``browser`` marker (tests that drive headless Chromium)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives headless Chromium over the DevTools protocol")
