"""Helpers shared by the voyageai tests."""

from __future__ import annotations

import httpx

from gateway.callers.base import CallerContext, Credential
from tests.fakes.voyageai_fake import VALID_KEY, FakeVoyage


def context(http: httpx.AsyncClient, fake: FakeVoyage, key: str = VALID_KEY) -> CallerContext:
    return CallerContext("voyageai", http, Credential({"key": key, "base_url": fake.url}))
