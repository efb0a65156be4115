"""Requests relayed in a provider's own wire format, and what comes back.

A front door that speaks a provider's format (``/v1/messages``, ``/v1/responses``) hands the
body to a provider relaying that format (``ProviderSpec.natives``) as the client sent it; the
caller replaces only the model name. The answer goes back as the upstream sent it, plus the
usage the caller read from it, for the request's record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from gateway.core.results import Usage
from gateway.errors import GatewayError


@dataclass(frozen=True, slots=True)
class NativeRequest:
    """``body`` is the client's parsed JSON body; ``headers`` the client headers of the format
    that go upstream unchanged (never a credential).

    ``held_by``: the provider holding state the body refers to (a Responses
    ``previous_response_id`` created there); any other provider gets ``unheld_body``, the same
    request with that state written out (the stored conversation inlined).
    """

    format: str
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    stream: bool = False
    held_by: str | None = None
    unheld_body: Mapping[str, Any] | None = None

    def for_provider(self, provider: str) -> NativeRequest:
        """The request as ``provider`` must get it (see ``held_by``)."""
        if self.held_by is None or self.held_by == provider or self.unheld_body is None:
            return self
        return NativeRequest(self.format, self.unheld_body, self.headers, self.stream)


@dataclass(frozen=True, slots=True)
class NativeReply:
    """A whole answer: ``body`` is the upstream JSON, serialized; ``provider`` relayed it."""

    body: bytes
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    provider: str | None = None
    status: int = 200


@dataclass(frozen=True, slots=True)
class NativeFrame:
    """One upstream stream event, framed as the client receives it. ``final``: on the event that
    closes the stream, the format's closing object where it carries one (a Responses stream's
    terminal ``response``), so a front door can keep it before the client sees the end;
    ``provider`` relayed it."""

    data: bytes
    final: Mapping[str, Any] | None = None
    provider: str | None = None


@dataclass(frozen=True, slots=True)
class NativeEnd:
    """The last item of a native stream: what the whole stream used. It carries no bytes.

    ``error``: the failure the upstream reported in-band, or the relay's own after the stream
    broke off (its frames were relayed as they came), so the record fails though the stream
    ended in order.
    """

    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    provider: str | None = None
    error: GatewayError | None = None


NativeEvent: TypeAlias = NativeFrame | NativeEnd
