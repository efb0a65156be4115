"""The README's configuration reference and ``.env.example`` name every setting and every
config-file key, so neither can fall behind the code."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from gateway.config import GatewayConfig, ModelAlias, ModelPrice, ProviderConfig, TimeoutsConfig
from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
_INTERNAL = {"environment"}


def _reference() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("### Configuration reference")
    end = text.find("\n## ", start)
    return text[start:end if end != -1 else None]


def _settings() -> list[str]:
    return [f"GATEWAY_{name.upper()}" for name in Settings.model_fields if name not in _INTERNAL]


def test_every_setting_is_in_the_reference_with_its_default() -> None:
    reference = _reference()
    for variable in _settings():
        row = next((line for line in reference.splitlines() if f"`{variable}`" in line), None)
        assert row is not None, f"{variable} is missing from the configuration reference"
        field = Settings.model_fields[variable.removeprefix("GATEWAY_").lower()]
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        assert any(re.search(rf"`[^`]*{re.escape(text)}[^`]*`", row) for text in _shown(default)), \
            f"{variable}: its default {default!r} is not in its row"


def _shown(default: object) -> set[str]:
    """How a default may be written in the table."""
    if default is None:
        return {"none"}
    if isinstance(default, bool):
        return {str(default).lower()}
    if isinstance(default, float) and default.is_integer():
        return {str(default), str(int(default))}
    return {str(default)}


def test_every_setting_is_in_env_example() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for variable in _settings():
        assert re.search(rf"^#?\s*{variable}=", example, re.MULTILINE), f"{variable} is missing from .env.example"


def _keys(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def test_every_config_file_key_is_in_the_reference() -> None:
    """Each key appears as a part of a code span (``providers.<name>.timeouts`` names three)."""
    parts = {part for span in re.findall(r"`([^`]+)`", _reference()) for part in re.split(r"[.\[\]<>, ]+", span)}
    for model in (GatewayConfig, ProviderConfig, ModelAlias, TimeoutsConfig, ModelPrice):
        for key in _keys(model):
            assert key in parts, f"config key {model.__name__}.{key} is missing from the reference"
