"""A store with the staff tables, on each kind of store, for the staff tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mkoba.ledger import Store, open_store
from mkoba.staff import schema


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url, commit_process=False)
    opened.migrate()
    schema.migrate(opened.migrate_script)
    try:
        yield opened
    finally:
        opened.close()
