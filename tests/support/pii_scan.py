"""Searching a whole store for raw values: every text column (String, maps' values, arrays of
strings, base64 bytes decoded) of every table and view, case-insensitively, the values also as
JSON would escape them.

Through a reader (the locked read path: the views of `phospho`) with `scan_views`, or on a store
with `scan_store` (every table of phospho_store and every view, columns from system.columns). A
chDB store is opened in one process only, so after `up` stopped:

    python -m tests.support.pii_scan <chdb dir> <needles.json>   # prints {"hits": [...], "ttls": {...}}
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["needles_of", "text_expression", "scan_views", "scan_store", "VIEW_NAMES"]

VIEW_NAMES = ("tasks", "spans", "feedback", "sessions", "users", "events", "evaluations", "topics", "task_topics",
              "dead_letters", "deletions")


def needles_of(values: Iterable[str]) -> list[str]:
    """Each value as written, and as JSON text escapes it (ASCII-only or not)."""
    out: list[str] = []
    for value in values:
        for form in (value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1]):
            if form not in out:
                out.append(form)
    return out


def _bare(ch_type: str) -> str:
    for wrapper in ("Nullable(", "LowCardinality(", "SimpleAggregateFunction(anyLast, "):
        if ch_type.startswith(wrapper):
            return _bare(ch_type[len(wrapper):-1])
    return ch_type


def text_expression(column: str, ch_type: str) -> str | None:
    """The text of a column to search, or None when it holds no text (numbers, dates, counts)."""
    kind, quoted = _bare(ch_type), f"`{column}`"
    if column.endswith("_base64"):
        return f"base64Decode(ifNull({quoted}, ''))"
    if kind in ("String", "FixedString") or kind.startswith("FixedString("):
        return f"ifNull({quoted}, '')"
    if kind.startswith("Map(String, String") or kind.startswith("Map(String, Nullable(String"):
        return f"arrayStringConcat(arrayMap(v -> ifNull(v, ''), mapValues({quoted})), '\\n')"
    if kind in ("Array(String)", "Array(Nullable(String))", "Array(LowCardinality(String))"):
        return f"arrayStringConcat(arrayMap(v -> ifNull(v, ''), {quoted}), '\\n')"
    return None


def _hits(read: Callable[..., Any], source: str, columns: list[tuple[str, str]], needles: list[str]) -> list[str]:
    expressions = [(name, text_expression(name, kind)) for name, kind in columns]
    searched = [(name, expr) for name, expr in expressions if expr is not None]
    if not searched:
        return []
    found = ", ".join(f"countIf(multiSearchAnyCaseInsensitiveUTF8({expr}, JSONExtract({{n:String}}, "
                      f"'Array(String)'))) AS `{name}`" for name, expr in searched)
    result = read(f"SELECT {found} FROM {source}", {"n": json.dumps(needles)})
    return [f"{source}.{name}: {count} rows" for name, count in zip(result.columns, result.rows[0], strict=True)
            if int(count)]


def scan_views(read: Callable[..., Any], needles: list[str]) -> list[str]:
    """Columns of the phospho views holding one of the needles ('phospho.tasks.input: 2 rows')."""
    hits: list[str] = []
    for view in VIEW_NAMES:
        names = read(f"SELECT * FROM phospho.{view} LIMIT 0").columns
        types = read(f"SELECT {', '.join(f'toTypeName(any(`{c}`)) AS `{c}`' for c in names)} "
                     f"FROM (SELECT * FROM phospho.{view} LIMIT 1)").rows[0]
        hits += _hits(read, f"phospho.{view}", list(zip(names, types, strict=True)), needles)
    return hits


def scan_store(store: Any, needles: list[str]) -> list[str]:
    """Columns of every table of phospho_store and every view of phospho holding one of the needles."""
    columns: dict[str, list[tuple[str, str]]] = {}
    for database, table, name, kind in store.query(
            "SELECT database, table, name, type FROM system.columns WHERE database IN ('phospho_store', 'phospho') "
            "ORDER BY database, table, position").rows:
        columns.setdefault(f"{database}.{table}", []).append((name, kind))
    hits: list[str] = []
    for source, table_columns in columns.items():
        hits += _hits(store.query, source, table_columns, needles)
    return hits


def _main(path: str, needles_file: str) -> None:
    from phospho_sinks import connect
    from phospho_sinks.retention import RETAINED_TABLES, current_ttls

    store = connect(f"chdb://{path}")
    needles = json.loads(open(needles_file, encoding="utf-8").read())
    ttls = {table: {"rows": t.rows, "columns": t.columns} for table in RETAINED_TABLES
            for t in (current_ttls(store, table),)}
    print(json.dumps({"hits": scan_store(store, needles), "tables": sorted(
        f"{d}.{t}" for d, t in store.query("SELECT database, name FROM system.tables WHERE database IN "
                                           "('phospho_store', 'phospho')").rows), "ttls": ttls}))
    store.close()


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
