"""``ResponseStore`` on both databases, migrated by alembic (0005)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from gateway.store.db import create_engine_for
from gateway.store.responses import ResponseStore, StoredResponse


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    return migrated_engine


def stored(response_id: str, text: str = "hi") -> StoredResponse:
    return StoredResponse(response_id, "key_1", {"id": response_id, "output": [{"type": "message", "text": text}]},
                          [{"type": "message", "id": "msg_1", "role": "user", "content": text}])


def test_save_get_delete(engine: Engine) -> None:
    store = ResponseStore(engine)
    store.save(stored("resp_1"))
    got = store.get("resp_1")
    assert got == stored("resp_1")
    assert got is not None and [i["id"] if "id" in i else i["type"] for i in got.conversation()] == ["msg_1",
                                                                                                    "message"]
    assert store.get("resp_2") is None
    assert store.delete("resp_1") is True
    assert store.delete("resp_1") is False
    assert store.get("resp_1") is None


def test_nul_characters_are_dropped_on_both_databases(engine: Engine) -> None:
    store = ResponseStore(engine)
    store.save(stored("resp_nul", "a\x00b"))
    got = store.get("resp_nul")
    assert got is not None and got.input_items[0]["content"] == "ab" and got.response["output"][0]["text"] == "ab"


def test_the_table_survives_a_new_engine(engine: Engine) -> None:
    ResponseStore(engine).save(stored("resp_3"))
    other = create_engine_for(engine.url.render_as_string(hide_password=False))
    try:
        assert ResponseStore(other).get("resp_3") is not None
        with other.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM stored_responses")).scalar_one() == 1
    finally:
        other.dispose()
