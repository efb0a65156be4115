"""Hugging Face error bodies -> ``ErrorInfo``.

The Hub and HF Inference answer ``{"error": "text"}``; HF Inference may give a
list of messages (``{"error": ["...", "..."]}``) and text-generation-inference
adds ``error_type`` (``validation``, ``overloaded``...); the router relays the
OpenAI shape ``{"error": {"message", "type", "code"}}``. The structured
``error_type`` becomes the code; classification stays by HTTP status.
"""

from __future__ import annotations

from typing import Any

from gateway.callers.http import ErrorInfo, parse_common_error


def parse_hf_error(body: Any) -> ErrorInfo | None:
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    code = body.get("error_type")
    if isinstance(error, list) and error and all(isinstance(item, str) for item in error):
        return ErrorInfo("; ".join(error), code if isinstance(code, str) else None)
    if isinstance(error, str) and isinstance(code, str):
        return ErrorInfo(error, code)
    return parse_common_error(body)
