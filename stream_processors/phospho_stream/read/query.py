"""`phospho-stream query "SQL"`: one locked read printed as a table, CSV or JSON.

It goes through the running `up`, else to the store; tables by rich, CSV with LF line ends."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from phospho_sinks import QueryResult

from ..settings import ReadSettings
from .source import open_source

__all__ = ["FORMATS", "render", "render_table", "run_query"]

FORMATS = ("table", "csv", "json")
MAX_CELL = 60  # characters of a table cell (csv and json keep everything)


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render_table(result: QueryResult) -> str:
    """A table for a terminal: long cells cut with an ellipsis, the row count under it."""
    table = Table(*result.columns, box=box.SIMPLE_HEAD)
    for column in table.columns:
        column.max_width, column.overflow, column.no_wrap = MAX_CELL, "ellipsis", True
    for row in result.rows:
        table.add_row(*(_cell(v) for v in row))
    out = io.StringIO()
    # wide enough for every column: the table's own width, never the terminal's wrapping
    Console(file=out, width=100_000, color_system=None, emoji=False, highlight=False).print(table, crop=False)
    lines = [line.rstrip() for line in out.getvalue().splitlines() if line.strip()]
    count = len(result.rows)
    return "\n".join([*lines, f"({count} row{'s' if count != 1 else ''})"])


def render(result: QueryResult, fmt: str = "table") -> str:
    if fmt == "json":
        return json.dumps(result.dicts(), ensure_ascii=False, default=str, indent=1)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([[_cell(v) if v is not None else "" for v in row] for row in result.rows])
        return out.getvalue().rstrip("\n")
    if fmt == "table":
        return render_table(result)
    raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


def run_query(settings: ReadSettings, sql: str, fmt: str = "table", params: dict[str, Any] | None = None) -> str:
    source = open_source(settings)
    try:
        return render(source.read(sql, params), fmt)
    finally:
        source.close()
