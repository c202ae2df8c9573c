"""What the dashboard's endpoints share: the `Read` they are given, rows made JSON-ready, one
row or a 404, a page of a list (ids, then rows by key)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from phospho_sinks import QueryResult

from ...reader import Reader
from .. import queries as Q
from ..params import paging

__all__ = ["Read", "Args", "NotFound", "with_tuning", "clean", "dicts", "one", "page", "pairs", "rows_by_id"]

Read = Callable[[str, "dict[str, Any] | None"], QueryResult]
Args = Mapping[str, str]


class NotFound(LookupError):
    """No such task, session, user or event (HTTP 404)."""


def with_tuning(read: Reader) -> Read:
    """`read` with each statement's settings from queries/."""
    return lambda sql, params=None: read(sql, params, Q.tuning(sql))


def clean(value: Any) -> Any:
    """NaN and infinities (avg of nothing) are not JSON: null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dicts(result: QueryResult) -> list[dict[str, Any]]:
    return [{k: clean(v) for k, v in row.items()} for row in result.dicts()]


def one(result: QueryResult, what: str) -> dict[str, Any]:
    rows = dicts(result)
    if not rows:
        raise NotFound(f"no such {what}")
    return rows[0]


def pairs(summed: Any) -> list[list[Any]]:
    """sumMap's ([keys], [values]) or a Map as [[key, value], ...]."""
    if isinstance(summed, Mapping):
        return [[k, v] for k, v in summed.items()]
    keys, values = summed
    return [[k, v] for k, v in zip(keys, values, strict=True)]


def rows_by_id(read: Read, rows_sql: str, key: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The rows of `ids`, read by key (one statement binding the ids as JSON)."""
    return {row[key]: row for row in dicts(read(rows_sql, {"ids": json.dumps(ids)}))} if ids else {}


def page(read: Read, args: Args, page_sql: str, count_sql: str, rows_sql: str, key: str,
         params: dict[str, Any]) -> dict[str, Any]:
    """One page: the ids and the matching total in one scan, then those rows by id, in order."""
    number, size, window = paging(args)
    found = read(page_sql, {**params, **window}).rows
    ids = [row[0] for row in found]
    if found:
        total = found[0][1]
    else:  # past the end, or nothing matches
        total = read(count_sql, params).rows[0][0] if window["offset"] else 0
    by_id = rows_by_id(read, rows_sql, key, ids)
    return {"total": total, "page": number, "size": size, "rows": [by_id[i] for i in ids if i in by_id]}
