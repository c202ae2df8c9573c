"""The column docs (phospho_sinks.ddl.columns) against the migrated store: every view of the
`phospho` database and schema_migrations documented, column by column, with its name, type (as
analysts see it) and place, and every meaning written."""

from __future__ import annotations

import re

from phospho_sinks import VIEW_DOCS, migrate


def _analyst_type(stored: str) -> str:
    """A view column's type without the storage's merge wrapper."""
    return re.sub(r"^SimpleAggregateFunction\(anyLast, (.*)\)$", r"\1", stored)


def test_every_view_and_column_is_documented_as_it_is(chdb_store):
    migrate(chdb_store)
    views = {row[0] for row in chdb_store.query(
        "SELECT name FROM system.tables WHERE database = 'phospho' AND engine = 'View'").rows}
    documented = {doc.name for doc in VIEW_DOCS}
    assert views | {"schema_migrations"} == documented, "undocumented views or docs of no view"
    for doc in VIEW_DOCS:
        described = [(row[0], _analyst_type(row[1])) for row in chdb_store.query(f"DESCRIBE TABLE phospho.{doc.name}").rows]
        assert described == [(c.name, c.type) for c in doc.columns], doc.name


def test_every_meaning_is_a_sentence_of_its_own():
    for doc in VIEW_DOCS:
        assert doc.summary.endswith(".") and "\n" not in doc.summary, doc.name
        names = [c.name for c in doc.columns]
        assert len(names) == len(set(names)), doc.name
        for column in doc.columns:
            assert column.meaning.strip() and column.meaning.endswith((".", ")")), (doc.name, column.name)
