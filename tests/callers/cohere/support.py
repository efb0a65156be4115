"""Helpers shared by the cohere tests."""

from __future__ import annotations

import httpx

from gateway.callers.base import CallerContext, Credential
from tests.fakes.cohere_fake import VALID_KEY, FakeCohere


def context(http: httpx.AsyncClient, fake: FakeCohere, key: str = VALID_KEY) -> CallerContext:
    return CallerContext("cohere", http, Credential({"key": key, "base_url": fake.url}))
