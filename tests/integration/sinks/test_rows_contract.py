"""The row contract (phospho_schemas.rows) and the storage tables the migrations create list the
same columns: a stage cannot write a column the store lacks, nor the store grow one no stage
writes."""

from __future__ import annotations

import pytest

from phospho_schemas.rows import STORE_DATABASE, TABLES, TASK_COLUMN_OWNERS, DeadLetterRow, TaskRow
from phospho_sinks import migrate

pytestmark = pytest.mark.integration

BOOKKEEPING = {"written_at"}  # filled by the store itself


def columns(store, table: str) -> set[str]:
    rows = store.query("SELECT name FROM system.columns WHERE database = {d:String} AND table = {t:String}",
                       {"d": STORE_DATABASE, "t": table}).rows
    return {name for (name,) in rows} - BOOKKEEPING


@pytest.mark.parametrize("table", [*TABLES, "dead_letters"])
def test_every_row_type_matches_its_table(chdb_store, table):
    migrate(chdb_store)
    row_type = TABLES.get(table, DeadLetterRow)
    assert columns(chdb_store, table) == set(row_type.__annotations__)


def test_every_task_column_has_one_owner_stage():
    owned = [column for stage in TASK_COLUMN_OWNERS.values() for column in stage]
    assert len(owned) == len(set(owned))
    assert set(owned) == set(TaskRow.__annotations__) - {"task_id"}
