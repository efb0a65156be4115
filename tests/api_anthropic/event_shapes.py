"""Anthropic's documented Messages shapes ("Messages", "Streaming Messages"), as JSON Schemas,
and a checker for a whole stream: every event's shape, and their order and block indices."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

_INT = {"type": "integer", "minimum": 0}
_USAGE = {"type": "object", "required": ["input_tokens", "output_tokens"],
          "properties": {"input_tokens": _INT, "output_tokens": _INT,
                         "cache_creation_input_tokens": {"type": ["integer", "null"]},
                         "cache_read_input_tokens": {"type": ["integer", "null"]}}}
_BLOCK = {"oneOf": [
    {"type": "object", "required": ["type", "text"],
     "properties": {"type": {"const": "text"}, "text": {"type": "string"}}},
    {"type": "object", "required": ["type", "id", "name", "input"],
     "properties": {"type": {"const": "tool_use"}, "id": {"type": "string", "minLength": 1},
                    "name": {"type": "string", "minLength": 1}, "input": {"type": "object"}}},
    {"type": "object", "required": ["type", "thinking", "signature"],
     "properties": {"type": {"const": "thinking"}, "thinking": {"type": "string"},
                    "signature": {"type": "string"}}},
]}
_STOP_REASONS = ["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"]
MESSAGE = {"type": "object", "required": ["id", "type", "role", "model", "content", "stop_reason",
                                          "stop_sequence", "usage"],
           "properties": {"id": {"type": "string", "pattern": "^msg_"}, "type": {"const": "message"},
                          "role": {"const": "assistant"}, "model": {"type": "string"},
                          "content": {"type": "array", "items": _BLOCK},
                          "stop_reason": {"enum": [*_STOP_REASONS, None]},
                          "stop_sequence": {"type": ["string", "null"]}, "usage": _USAGE}}
_DELTA = {"oneOf": [
    {"type": "object", "required": ["type", "text"],
     "properties": {"type": {"const": "text_delta"}, "text": {"type": "string"}}},
    {"type": "object", "required": ["type", "partial_json"],
     "properties": {"type": {"const": "input_json_delta"}, "partial_json": {"type": "string"}}},
    {"type": "object", "required": ["type", "thinking"],
     "properties": {"type": {"const": "thinking_delta"}, "thinking": {"type": "string"}}},
    {"type": "object", "required": ["type", "signature"],
     "properties": {"type": {"const": "signature_delta"}, "signature": {"type": "string"}}},
]}
EVENTS: dict[str, dict[str, Any]] = {
    "message_start": {"required": ["type", "message"], "properties": {"message": MESSAGE}},
    "content_block_start": {"required": ["type", "index", "content_block"],
                            "properties": {"index": _INT, "content_block": _BLOCK}},
    "content_block_delta": {"required": ["type", "index", "delta"], "properties": {"index": _INT, "delta": _DELTA}},
    "content_block_stop": {"required": ["type", "index"], "properties": {"index": _INT}},
    "message_delta": {"required": ["type", "delta", "usage"], "properties": {
        "delta": {"type": "object", "required": ["stop_reason"],
                  "properties": {"stop_reason": {"enum": _STOP_REASONS},
                                 "stop_sequence": {"type": ["string", "null"]}}},
        "usage": {"type": "object", "required": ["output_tokens"], "properties": {"output_tokens": _INT}}}},
    "message_stop": {"required": ["type"]},
    "ping": {"required": ["type"]},
    "error": {"required": ["type", "error"], "properties": {"error": {
        "type": "object", "required": ["type", "message"],
        "properties": {"type": {"type": "string"}, "message": {"type": "string"}}}}},
}
ERROR = {"type": "object", "required": ["type", "error"],
         "properties": {"type": {"const": "error"}, "error": EVENTS["error"]["properties"]["error"]}}


def validate(schema: dict[str, Any], value: Any) -> None:
    Draft202012Validator(schema).validate(value)


def check_stream(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Every ``(event line, data)`` pair has its documented shape, and the stream runs
    ``message_start``, blocks numbered 0.. each opened, filled and stopped in turn,
    ``message_delta``, ``message_stop`` (or ends at an ``error`` event)."""
    for name, data in events:
        assert name == data["type"], (name, data)
        validate({"type": "object", **EVENTS[name], "properties": {"type": {"const": name},
                                                                  **EVENTS[name].get("properties", {})}}, data)
    kinds = [name for name, _ in events if name != "ping"]
    assert kinds[0] == "message_start"
    if kinds[-1] == "error":
        return
    assert kinds[-2:] == ["message_delta", "message_stop"], kinds
    open_index: int | None = None
    expected = 0
    for name, data in events:
        if name == "content_block_start":
            assert open_index is None and data["index"] == expected
            open_index = data["index"]
        elif name == "content_block_delta":
            assert data["index"] == open_index
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index, expected = None, expected + 1
        elif name in ("message_delta", "message_stop"):
            assert open_index is None
