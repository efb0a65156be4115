"""Dashboard tests: registers the ``browser`` marker (tests that drive headless Chromium) and
provides ``browser``, one Chromium per test module, skipping where Chromium is not installed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.dashboard.cdp import Browser


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives headless Chromium over the DevTools protocol")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium); the dashboard browser tests need it")
    chromium = Browser.launch(binary, tmp_path_factory.mktemp("chromium") / "profile")
    yield chromium
    chromium.close()
