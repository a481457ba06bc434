"""The outbox for operators: list messages and send some again, only of the channel asked."""

from __future__ import annotations

from pathlib import Path

from mkoba.ledger import open_store
from mkoba.ledger.store.sql import insert_sql
from mkoba.outbox import admin
from mkoba.outbox.schema import OUTBOX_COLUMNS
from mkoba.outbox.schema import SCHEMA as OUTBOX_SCHEMA


def test_only_failed_or_named_messages_of_the_channel_are_queued_again(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "outbox.db")) as store:
        store.migrate()
        store.migrate_script("outbox-0001", OUTBOX_SCHEMA)
        rows = [
            (1, "r1", "callback", "https://a.example/cb", "{}", "failed", 9, 10, 0, 10, "stk"),
            (2, "r2", "callback", "https://a.example/cb", "{}", "delivered", 1, 20, 0, 20, "stk"),
            (3, "r3", "sms", "254712000001", "hi", "failed", 9, 30, 0, 30, "note"),
        ]
        for row in rows:
            store.execute(insert_sql("outbox", OUTBOX_COLUMNS, "?"), row)
        assert [m.id for m in admin.messages(store, "callback", "", 10)] == [2, 1]
        assert [m.id for m in admin.messages(store, "callback", "failed", 10)] == [1]
        assert admin.failed(store, [1, 2, 3, 4]) == [1, 3]
        assert admin.requeue(store, [1, 3, 4], "callback", 99) == [1]
        state = store.query("SELECT id, state, attempts, next_attempt FROM outbox ORDER BY id")
        assert [tuple(row) for row in state] == [
            (1, "queued", 0, 99),
            (2, "delivered", 1, 0),
            (3, "failed", 9, 0),
        ]
