"""`phospho-stream export VIEW --format parquet|csv|jsonl [--since ...] [--user USER_ID]`: a view of
the phospho database streamed to a file, through the read side's locked path.

Pages of PAGE_ROWS rows in the view's key order, each page asked for after the last key of the
previous one (keyset pagination: every page costs the same, and rows written meanwhile neither
repeat nor shift a page). `--user` is an access request: only that user's rows (for task_topics,
those of their tasks); `--since` keeps rows of that time or later (sessions: ended since).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from phospho_sinks import QueryResult

from ..errors import UsageError
from ..read import open_source
from ..settings import ReadSettings
from .export_files import open_writer

__all__ = ["VIEWS", "PAGE_ROWS", "ExportError", "Exported", "export_view", "run_export"]

#: rows per page: a page of tasks with their texts is a few MB of JSON through up's endpoint,
#: far below the read limits (PHOSPHO_READ_MAX_BYTES), and few enough round trips per million rows
PAGE_ROWS = 5_000

Read = Callable[..., QueryResult]


@dataclass(frozen=True)
class ViewSpec:
    keys: tuple[tuple[str, str], ...]  # (column, ClickHouse type) of the stable order, unique per row
    time: str  # the column --since reads
    user: str | None  # how --user selects rows (None: the view holds no user)


_BY_USER = "user_id = {user:String}"
VIEWS: dict[str, ViewSpec] = {
    "tasks": ViewSpec((("task_id", "String"),), "created_at", _BY_USER),
    "spans": ViewSpec((("span_event_id", "String"),), "start_time", _BY_USER),
    "feedback": ViewSpec((("feedback_id", "String"),), "created_at", _BY_USER),
    "sessions": ViewSpec((("window_id", "String"),), "end_time", _BY_USER),
    "users": ViewSpec((("user_id", "String"),), "last_seen", _BY_USER),
    "events": ViewSpec((("task_id", "String"), ("event_name", "String")), "created_at", _BY_USER),
    "evaluations": ViewSpec((("task_id", "String"), ("source", "String")), "created_at", _BY_USER),
    "task_topics": ViewSpec((("run_id", "String"), ("task_id", "String")), "created_at",
                            "task_id IN (SELECT task_id FROM phospho.tasks WHERE user_id = {user:String})"),
    "topics": ViewSpec((("run_id", "String"), ("topic_id", "UInt32")), "created_at", None),
    "dead_letters": ViewSpec((("topic", "String"), ("partition", "UInt32"), ("offset", "UInt64")), "received_at",
                             None),
    "deletions": ViewSpec((("request_id", "String"),), "requested_at", _BY_USER),
}


class ExportError(UsageError):
    """The export cannot be made as asked (one line saying why)."""


@dataclass(frozen=True)
class Exported:
    path: Path
    rows: int


def _spec(view: str) -> ViewSpec:
    name = view.removeprefix("phospho.")
    if name not in VIEWS:
        raise ExportError(f"{view!r} is not a view of the phospho database: one of {', '.join(VIEWS)}")
    return VIEWS[name]


def _filters(spec: ViewSpec, view: str, since_ms: int, user: str | None) -> tuple[list[str], dict[str, Any]]:
    where, params = [], {}
    if since_ms:
        where.append(f"{spec.time} >= fromUnixTimestamp64Milli({{since:Int64}}, 'UTC')")
        params["since"] = since_ms
    if user is not None:
        if spec.user is None:
            raise ExportError(f"--user: phospho.{view} holds no user's rows (it has no user_id)")
        where.append(spec.user)
        params["user"] = user
    return where, params


def export_view(read: Read, view: str, fmt: str, path: Path, since_ms: int = 0, user: str | None = None,
                progress: Callable[[int, int], None] | None = None, page_rows: int = PAGE_ROWS) -> Exported:
    """Write `phospho.<view>` (its rows since `since_ms`, of `user` when given) to `path`."""
    spec = _spec(view)
    view = view.removeprefix("phospho.")
    where, params = _filters(spec, view, since_ms, user)
    condition = " AND ".join(where) or "1"
    total = int(read(f"SELECT count() AS n FROM phospho.{view} WHERE {condition}", params).rows[0][0])
    columns = read(f"SELECT * FROM phospho.{view} LIMIT 0").columns
    names = ", ".join(f"toTypeName(any(`{c}`)) AS `{c}`" for c in columns)
    types = read(f"SELECT {names} FROM (SELECT * FROM phospho.{view} LIMIT 1)").rows[0]
    keys = ", ".join(name for name, _ in spec.keys)
    after = f"({keys}) > ({', '.join(f'{{k{i}:{kind}}}' for i, (_, kind) in enumerate(spec.keys))})"
    positions = [columns.index(name) for name, _ in spec.keys]
    writer = open_writer(fmt, path, columns, types)
    written, last = 0, None
    try:
        while True:
            page_where = condition if last is None else f"{condition} AND {after}"
            page_params = params if last is None else {**params, **{f"k{i}": v for i, v in enumerate(last)}}
            rows = read(f"SELECT * FROM phospho.{view} WHERE {page_where} ORDER BY {keys} LIMIT {int(page_rows)}",
                        page_params).rows
            writer.write(rows)
            written += len(rows)
            if progress is not None:
                progress(written, max(total, written))
            if len(rows) < page_rows:
                break
            last = [rows[-1][p] for p in positions]
    finally:
        writer.close()
    return Exported(path, written)


def default_path(view: str, fmt: str) -> Path:
    return Path(f"{re.sub(r'[^a-z_]', '_', view.removeprefix('phospho.'))}.{fmt}")


def run_export(settings: ReadSettings, view: str, fmt: str, output: str | None, since_ms: int = 0,
               user: str | None = None) -> str:
    """The command: the file written with a progress bar on stderr; the line saying what was written.
    A file left by a failed export is removed."""
    _filters(_spec(view), view.removeprefix("phospho."), since_ms, user)  # a bad request: before any file
    path = Path(output) if output else default_path(view, fmt)
    source = open_source(settings)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
            bar = progress.add_task(f"phospho.{view.removeprefix('phospho.')}", total=None)
            exported = export_view(source.read, view, fmt, path, since_ms, user,
                                   progress=lambda done, total: progress.update(bar, completed=done, total=total))
    except BaseException:  # a file cut short is not left behind
        path.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    return f"exported {exported.rows:,} rows of phospho.{view.removeprefix('phospho.')} to {exported.path}"
