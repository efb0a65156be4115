"""Requests relayed in a provider's own wire format, and what comes back.

A front door that speaks a provider's format (``/v1/messages``) hands the body to a
provider declaring that format (``ProviderSpec.native_format``) as the client sent it;
the caller replaces only the model name. The answer goes back as the upstream sent it,
plus the usage the caller read from it, for the request's record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from gateway.core.results import Usage


@dataclass(frozen=True, slots=True)
class NativeRequest:
    """``body`` is the client's parsed JSON body; ``headers`` the client headers of the format
    that go upstream unchanged (never a credential)."""

    format: str
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    stream: bool = False


@dataclass(frozen=True, slots=True)
class NativeReply:
    """A whole answer: ``body`` is the upstream JSON, serialized."""

    body: bytes
    usage: Usage = field(default_factory=Usage)
    model: str | None = None


@dataclass(frozen=True, slots=True)
class NativeFrame:
    """One upstream stream event, framed as the client receives it."""

    data: bytes


@dataclass(frozen=True, slots=True)
class NativeEnd:
    """The last item of a native stream: what the whole stream used. It carries no bytes."""

    usage: Usage = field(default_factory=Usage)
    model: str | None = None


NativeEvent: TypeAlias = NativeFrame | NativeEnd
