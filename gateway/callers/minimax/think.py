"""Separate MiniMax's inline ``<think>...</think>`` reasoning from the answer.

Reference: MiniMax docs, "OpenAI API compatible": with the plain OpenAI format,
M2-series models put their reasoning in ``content`` wrapped in ``<think>``
tags, before the answer. Only a block at the very start of the content (after
optional whitespace) counts, so an answer that merely mentions the tag is left
alone. The same splitter serves whole messages and streams, where a tag may be
cut anywhere between two deltas.
"""

from __future__ import annotations

from enum import Enum

OPEN = "<think>"
CLOSE = "</think>"


class _State(Enum):
    START = "start"
    THINK_START = "think_start"
    THINK = "think"
    AFTER = "after"
    TEXT = "text"


def _held_suffix(data: str, tag: str) -> int:
    """Length of the longest end of ``data`` that could begin ``tag``."""
    for size in range(min(len(tag) - 1, len(data)), 0, -1):
        if data.endswith(tag[:size]):
            return size
    return 0


class ThinkSplitter:
    """Feed content pieces in order; each call returns ``(reasoning, text)`` that
    can be emitted now. Text that might still turn out to be part of a tag is
    held back until the next piece or ``close``.

    Whitespace right after ``<think>`` and right after ``</think>`` is dropped
    (it separates the blocks); everything else is kept as sent.
    """

    def __init__(self) -> None:
        self._state = _State.START
        self._held = ""

    def feed(self, piece: str) -> tuple[str, str]:
        data, self._held = self._held + piece, ""
        reasoning: list[str] = []
        text: list[str] = []
        while data:
            if self._state is _State.START:
                data = self._start(data)
            elif self._state in (_State.THINK_START, _State.AFTER):
                data = self._skip_space(data)
            elif self._state is _State.THINK:
                data = self._think(data, reasoning)
            else:
                text.append(data)
                data = ""
        return "".join(reasoning), "".join(text)

    def close(self) -> tuple[str, str]:
        """What is still held back. An unterminated think block (the output was
        cut by ``max_tokens``) stays reasoning."""
        held, self._held = self._held, ""
        if self._state in (_State.THINK, _State.THINK_START):
            return held, ""
        return "", held

    def _start(self, data: str) -> str:
        stripped = data.lstrip()
        if stripped.startswith(OPEN):
            self._state = _State.THINK_START
            return stripped[len(OPEN):]
        if OPEN.startswith(stripped):
            self._held = data
            return ""
        self._state = _State.TEXT
        return data

    def _skip_space(self, data: str) -> str:
        stripped = data.lstrip()
        if stripped:
            self._state = _State.THINK if self._state is _State.THINK_START else _State.TEXT
        return stripped

    def _think(self, data: str, reasoning: list[str]) -> str:
        end = data.find(CLOSE)
        if end >= 0:
            reasoning.append(data[:end])
            self._state = _State.AFTER
            return data[end + len(CLOSE):]
        keep = _held_suffix(data, CLOSE)
        reasoning.append(data[: len(data) - keep])
        self._held = data[len(data) - keep:]
        return ""


def split_think(content: str) -> tuple[str, str]:
    """``(reasoning, answer)`` of a whole message's content."""
    splitter = ThinkSplitter()
    reasoning, text = splitter.feed(content)
    tail_reasoning, tail_text = splitter.close()
    return reasoning + tail_reasoning, text + tail_text
