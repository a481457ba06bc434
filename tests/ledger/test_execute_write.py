"""Admin writes (``ledger.queries.execute_write``): one row, built as the writer builds it."""

from __future__ import annotations

from mkoba.ledger import Write, WriteMode, open_store, queries

SCHEMA = "CREATE TABLE IF NOT EXISTS admin_probe (k TEXT PRIMARY KEY, a TEXT NOT NULL, n BIGINT);"


def test_insert_upsert_and_update_land_as_the_writer_lands_them(store_url: str) -> None:
    columns = ("k", "a", "n")
    with open_store(store_url) as store:
        store.migrate()
        store.migrate_script("admin-probe-0001", SCHEMA)
        store.execute("DELETE FROM admin_probe")
        queries.execute_write(store, Write("admin_probe", columns, ("x", "first", 1)))
        upsert = Write("admin_probe", columns, ("x", "again", 2), ("k",), WriteMode.UPSERT)
        queries.execute_write(store, upsert)
        queries.execute_write(
            store, Write("admin_probe", columns, ("y", "new", 3), ("k",), WriteMode.UPSERT)
        )
        queries.execute_write(
            store, Write("admin_probe", ("k", "n"), ("y", 30), ("k",), WriteMode.UPDATE)
        )
        rows = store.query("SELECT k, a, n FROM admin_probe ORDER BY k")
    assert [tuple(row) for row in rows] == [("x", "again", 2), ("y", "new", 30)]
