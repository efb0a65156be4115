"""Stored responses (``POST /v1/responses`` with ``store``): the Response object and the input
items the model saw, so ``previous_response_id`` continues a conversation in any process
sharing the database.

The table is defined on ``Base.metadata`` (``gateway.store.models`` imports this module) and
created by migration 0005. Methods block; the API layer calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, String, Table, delete, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.models import Base, JSONType, UTCDateTime


class StoredResponseRow(Base):
    """One stored response. ``input_items`` is the whole conversation before its output (the
    previous responses' items, then this request's input); ``key_id`` is the gateway key that
    created it (``None``: the master key or an unauthenticated gateway)."""

    __tablename__ = "stored_responses"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)
    input_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)


STORED_RESPONSES: Table = Base.metadata.tables["stored_responses"]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    key_id: str | None
    response: dict[str, Any]
    input_items: list[dict[str, Any]]

    def conversation(self) -> list[dict[str, Any]]:
        """The items a follow-up response continues from: the input items, then the output."""
        output: list[dict[str, Any]] = self.response.get("output") or []
        return [*self.input_items, *output]


def _without_nul(value: Any) -> Any:
    """``value`` with NUL removed from every string (PostgreSQL's JSONB cannot hold it; both
    databases store the same)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


class ResponseStore:
    """Blocking reads and writes of ``stored_responses``; strings are stored without NUL characters."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(self, stored: StoredResponse) -> None:
        with self._engine.begin() as connection:
            connection.execute(insert(STORED_RESPONSES).values(
                id=stored.id, key_id=stored.key_id, created_at=dt.datetime.now(dt.UTC),
                response=_without_nul(stored.response), input_items=_without_nul(stored.input_items)))

    def get(self, response_id: str) -> StoredResponse | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(STORED_RESPONSES).where(STORED_RESPONSES.c.id == response_id)).first()
        if row is None:
            return None
        m = row._mapping
        return StoredResponse(m["id"], m["key_id"], m["response"], m["input_items"])

    def delete(self, response_id: str) -> bool:
        """True when a row was deleted."""
        with self._engine.begin() as connection:
            result = connection.execute(delete(STORED_RESPONSES).where(STORED_RESPONSES.c.id == response_id))
        return bool(result.rowcount)
