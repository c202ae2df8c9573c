"""`phospho-stream describe [VIEW]`: the analysts' views and their columns with their meaning,
from phospho_sinks' column docs (the same text as the README's tables, which `--markdown`
prints). Needs no store."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.table import Table

from phospho_sinks import VIEW_DOCS, ViewDoc, view_doc

__all__ = ["describe", "markdown", "README_START", "README_END"]

README_START, README_END = "<!-- views:start -->", "<!-- views:end -->"


def _print(*renderables: object) -> str:
    out = io.StringIO()
    console = Console(file=out, width=160, color_system=None, emoji=False, highlight=False)
    for r in renderables:
        console.print(r)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()).strip("\n")


def _columns(doc: ViewDoc) -> str:
    table = Table("column", "type", "meaning", box=box.SIMPLE_HEAD)
    for c in doc.columns:
        table.add_row(c.name, c.type, c.meaning)
    return _print(f"phospho.{doc.name}: {doc.summary}", table)


def _overview() -> str:
    table = Table("view", "columns", "what a row is", box=box.SIMPLE_HEAD)
    for doc in VIEW_DOCS:
        table.add_row(f"phospho.{doc.name}", str(len(doc.columns)), doc.summary)
    return _print(table, "`phospho-stream describe VIEW` lists a view's columns.")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(name: str | None = None) -> str:
    """The README's tables: one per view (or only `name`), between README_START and README_END
    when all of them."""
    docs = (view_doc(name),) if name else VIEW_DOCS
    parts = []
    for doc in docs:
        rows = [f"| `{c.name}` | `{c.type}` | {_cell(c.meaning)} |" for c in doc.columns]
        parts.append("\n".join([f"#### `phospho.{doc.name}`", "", _cell(doc.summary), "",
                                "| column | type | meaning |", "|---|---|---|", *rows]))
    text = "\n\n".join(parts)
    return text if name else f"{README_START}\n{text}\n{README_END}"


def describe(name: str | None = None, as_markdown: bool = False) -> str:
    """A view's columns (KeyError for an unknown view), or every view when `name` is None."""
    if as_markdown:
        return markdown(name)
    return _columns(view_doc(name)) if name else _overview()
