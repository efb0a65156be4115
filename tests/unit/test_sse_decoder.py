"""The bytes-level SSE decoder against the WHATWG rules, with events split across reads."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.callers.http import iter_sse

STREAM = (b": keep-alive comment\r\n"
          b"event: message_start\r\ndata: {\"a\": 1}\r\n\r\n"
          b"data: line one\ndata: line two\n\n"
          b"id: 7\ndata:no-space\n\n"
          b"data: caf\xc3\xa9\n\n"
          b"data: [DONE]")


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


async def decode(chunks: list[bytes]) -> list[tuple[str, str, str | None]]:
    response = httpx.Response(200, stream=_Chunks(chunks))
    return [(e.event, e.data, e.id) async for e in iter_sse(response, "test")]


EXPECTED = [("message_start", '{"a": 1}', None), ("message", "line one\nline two", None),
            ("message", "no-space", "7"), ("message", "café", "7"), ("message", "[DONE]", "7")]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, len(STREAM)])
async def test_events_survive_any_split_into_reads(size: int) -> None:
    chunks = [STREAM[i:i + size] for i in range(0, len(STREAM), size)]
    assert await decode(chunks) == EXPECTED


async def test_invalid_utf8_is_a_malformed_upstream_error() -> None:
    from gateway.errors import UpstreamError

    with pytest.raises(UpstreamError, match="not UTF-8"):
        await decode([b"data: \xff\xfe\n\n"])
