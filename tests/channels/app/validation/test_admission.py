"""What the core commits for a validator process apart: whole rows of its tables only."""

from __future__ import annotations

import pytest

from mkoba.bus.rows import admitted
from mkoba.channels.app.validation import OWN_TABLES, schema
from mkoba.channels.app.validation.admission import validator_rows
from mkoba.channels.app.validation.charge_rows import TriesRow, tries_write
from mkoba.ledger import Write, WriteMode

DEVICE = schema.device_write(
    schema.DeviceRow("dev1", "254712000001", "phone", "key", 7, "active", "", 1, 2)
)


def test_every_table_of_the_validator_is_admitted_and_no_other() -> None:
    assert set(validator_rows()) == set(OWN_TABLES)


def test_a_whole_row_as_the_validator_writes_it_is_committed() -> None:
    rows = [DEVICE, tries_write(TriesRow("dev1", 5, 1)), DEVICE._replace(mode=WriteMode.INSERT)]
    assert admitted(rows, validator_rows()) == (rows, "")


@pytest.mark.parametrize(
    "write",
    [
        DEVICE._replace(mode=WriteMode.UPDATE),  # a plain update: not the validator's
        DEVICE._replace(columns=DEVICE.columns[:5], values=DEVICE.values[:5]),  # part of a row
        DEVICE._replace(keys=("msisdn",)),  # keyed otherwise
        DEVICE._replace(values=(*DEVICE.values[:4], "7", *DEVICE.values[5:])),  # a counter as text
        Write("ledger_transfers", ("id", "amount"), (1, 10**9)),
    ],
)
def test_anything_else_is_refused(write: Write) -> None:
    assert admitted([DEVICE, write], validator_rows())[0] == []
