"""`phospho-stream query "SQL"`: run one read-only statement on the configured ClickHouse
(chDB directory or server) and print a table, CSV or JSON."""

from __future__ import annotations

import csv
import http.client
import io
import json
import urllib.error
import urllib.request
from typing import Any

from phospho_sinks import QueryResult, StoreError, connect, read_only_query

__all__ = ["run_query", "render", "execute"]


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render(result: QueryResult, fmt: str = "table", max_width: int = 60) -> str:
    if fmt == "json":
        return json.dumps(result.dicts(), ensure_ascii=False, default=str, indent=1)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(result.columns)
        writer.writerows([[_cell(v) if v is not None else "" for v in row] for row in result.rows])
        return out.getvalue().rstrip("\n")
    cells = [[_cell(v) for v in row] for row in result.rows]
    cells = [[c if len(c) <= max_width else c[: max_width - 1] + "…" for c in row] for row in cells]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(result.columns)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(result.columns, widths, strict=True)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(lines)


def execute(sql: str, dsn: str | None, params: dict[str, Any] | None = None) -> QueryResult:
    """One read-only statement: asked of the running `up` when it holds this store (chDB opens
    its directory in one process only), else run on the store directly."""
    from .up import running_pipeline

    running = running_pipeline(dsn)
    if running is not None:
        request = urllib.request.Request(running["url"], data=json.dumps({"sql": sql, "params": params}).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise StoreError(json.loads(exc.read()).get("error", str(exc))) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            # up went away (or is stopping) between its up.json and this request: refused,
            # reset, cut short or timed out
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise StoreError(f"the running pipeline at {running['url']} did not answer ({reason or type(exc).__name__})") from None
        return QueryResult(payload["columns"], [tuple(r) for r in payload["rows"]])
    store = connect(dsn)
    try:
        return read_only_query(store, sql, params)
    finally:
        store.close()


def run_query(sql: str, dsn: str | None, fmt: str, params: dict[str, str] | None = None) -> str:
    return render(execute(sql, dsn, params), fmt)
