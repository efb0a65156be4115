"""Stored responses (``POST /v1/responses`` with ``store``): the Response object and the input
items the model saw, so ``previous_response_id`` continues a conversation in any process
sharing the database.

The tables are defined on ``Base.metadata`` (``gateway.store.models`` imports this module) and
created by migrations 0005 and 0006 (``stored_response_items``). Methods block; the API layer
calls them through ``asyncio.to_thread``.
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
    created it (``None``: the master key or an unauthenticated gateway). ``provider``: the
    provider that created and holds it (a relayed response; ``None``: the gateway made it by
    translation), and ``model`` the name the client asked for, whose deployment reaches it."""

    __tablename__ = "stored_responses"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)
    input_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    provider: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(256))


class StoredItemRow(Base):
    """Which stored response an output item belongs to, so an ``item_reference`` input item (a
    client replaying an earlier answer by id) can be resolved to the item itself."""

    __tablename__ = "stored_response_items"

    item_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    response_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


STORED_RESPONSES: Table = Base.metadata.tables["stored_responses"]
STORED_ITEMS: Table = Base.metadata.tables["stored_response_items"]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    key_id: str | None
    response: dict[str, Any]
    input_items: list[dict[str, Any]]
    provider: str | None = None
    model: str | None = None

    def conversation(self) -> list[dict[str, Any]]:
        """The items a follow-up response continues from: the input items, then the output."""
        return [*self.input_items, *self.output_items()]

    def output_items(self) -> list[dict[str, Any]]:
        output = self.response.get("output")
        return [item for item in output if isinstance(item, dict)] if isinstance(output, list) else []

    def item(self, item_id: str) -> dict[str, Any] | None:
        """The output or input item with id ``item_id``."""
        return next((item for item in [*self.output_items(), *self.input_items] if item.get("id") == item_id), None)


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
        """Insert ``stored`` and the ids of its output items (see ``StoredItemRow``)."""
        item_ids = sorted({item["id"] for item in stored.output_items() if isinstance(item.get("id"), str)})
        with self._engine.begin() as connection:
            connection.execute(insert(STORED_RESPONSES).values(
                id=stored.id, key_id=stored.key_id, created_at=dt.datetime.now(dt.UTC),
                response=_without_nul(stored.response), input_items=_without_nul(stored.input_items),
                provider=stored.provider, model=stored.model))
            if item_ids:
                connection.execute(insert(STORED_ITEMS), [{"item_id": i, "response_id": stored.id} for i in item_ids])

    def holders(self, item_ids: list[str]) -> dict[str, list[str]]:
        """For each of ``item_ids`` that a stored response's output holds, the ids of those responses."""
        if not item_ids:
            return {}
        found: dict[str, list[str]] = {}
        with self._engine.connect() as connection:
            rows = connection.execute(select(STORED_ITEMS).where(STORED_ITEMS.c.item_id.in_(item_ids)))
            for row in rows:
                found.setdefault(row.item_id, []).append(row.response_id)
        return found

    def get(self, response_id: str) -> StoredResponse | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(STORED_RESPONSES).where(STORED_RESPONSES.c.id == response_id)).first()
        if row is None:
            return None
        m = row._mapping
        return StoredResponse(m["id"], m["key_id"], m["response"], m["input_items"], m["provider"], m["model"])

    def delete(self, response_id: str) -> bool:
        """True when a row was deleted."""
        with self._engine.begin() as connection:
            connection.execute(delete(STORED_ITEMS).where(STORED_ITEMS.c.response_id == response_id))
            result = connection.execute(delete(STORED_RESPONSES).where(STORED_RESPONSES.c.id == response_id))
        return bool(result.rowcount)
