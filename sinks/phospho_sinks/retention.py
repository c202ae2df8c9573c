"""Retention as ClickHouse TTLs: raw text columns cleared `raw_text_days` after their row's last
write, whole rows deleted `aggregates_days` after it (the tables' `written_at`).

The sink applies them at start, after the migrations: an ALTER for each table whose TTLs differ
from the wanted ones (MODIFY COLUMN ... TTL, MODIFY TTL; REMOVE TTL when retention is removed),
never a rebuild. ClickHouse then clears what expired at its merges (and at once on the parts
that exist when a TTL changes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from phospho_schemas.rows import STORE_DATABASE

from .backend import Store

__all__ = ["RAW_TEXT_COLUMNS", "RETAINED_TABLES", "TableTtl", "apply_retention", "current_ttls", "ttl_expression"]

#: per table, the columns holding text an app logged (or a copy of it), cleared after raw_text_days
RAW_TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "tasks": ("input", "output", "system_prompt", "raw_input", "raw_output", "metadata", "metadata_json",
              "feedback_notes", "eval_reason"),
    "spans": ("input_text", "output_text", "attributes", "attributes_json", "status_message"),
    "feedback": ("notes",),
    "sessions": ("first_input", "last_input"),
    "evaluations": ("reason",),
    "topics": ("examples",),
    "dead_letters": ("value_base64",),
}
#: the tables whose rows are deleted after aggregates_days
RETAINED_TABLES: tuple[str, ...] = ("tasks", "spans", "feedback", "sessions", "events", "evaluations", "topics",
                                    "task_topics", "dead_letters")

_OURS = re.compile(r"TTL toDateTime\(written_at\) \+ toIntervalDay\((\d+)\)")


def ttl_expression(days: int) -> str:
    return f"toDateTime(written_at) + INTERVAL {int(days)} DAY"


@dataclass(frozen=True)
class TableTtl:
    """A table's TTLs as ClickHouse holds them: the row TTL's days (None: none; -1: a TTL that is
    not retention's), and each column's."""

    rows: int | None
    columns: dict[str, int | None]


def _days(text: str) -> int | None:
    if " TTL " not in f" {text} ":
        return None
    ours = _OURS.search(text)
    return int(ours.group(1)) if ours else -1


def current_ttls(store: Store, table: str) -> TableTtl:
    """What `phospho_store.<table>` has now (read from its CREATE statement)."""
    create = store.query("SELECT create_table_query FROM system.tables WHERE database = {d:String} "
                         "AND name = {t:String}", {"d": STORE_DATABASE, "t": table}).rows[0][0]
    columns_part, _, engine_part = create.partition(" ENGINE = ")
    columns = {}
    for name in RAW_TEXT_COLUMNS.get(table, ()):
        definition = re.search(rf"`{name}` [^`]*", columns_part)
        columns[name] = _days(definition.group()) if definition else None
    return TableTtl(_days(engine_part), columns)


def _alterations(now: TableTtl, raw_text_days: int | None, aggregates_days: int | None) -> list[str]:
    out = []
    for column, days in now.columns.items():
        if days != raw_text_days:
            out.append(f"MODIFY COLUMN {column} REMOVE TTL" if raw_text_days is None
                       else f"MODIFY COLUMN {column} TTL {ttl_expression(raw_text_days)}")
    if now.rows != aggregates_days:
        out.append("REMOVE TTL" if aggregates_days is None else f"MODIFY TTL {ttl_expression(aggregates_days)}")
    return out


def apply_retention(store: Store, raw_text_days: int | None, aggregates_days: int | None) -> list[str]:
    """Make every table's TTLs the wanted ones (None: kept for ever); returns the ALTER
    statements run (none when nothing changed)."""
    done = []
    for table in RETAINED_TABLES:
        alterations = _alterations(current_ttls(store, table), raw_text_days, aggregates_days)
        if alterations:
            statement = f"ALTER TABLE {STORE_DATABASE}.{table} {', '.join(alterations)}"
            store.command(statement)
            done.append(statement)
    return done
