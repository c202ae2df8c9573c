"""A dashboard request's query string -> the names of the filters it uses and their values,
typed, for binding. Anything malformed is a `BadRequest` (HTTP 400); values are never
checked against SQL, because they never become SQL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["BadRequest", "MAX_PAGE_SIZE", "text", "required", "millis", "paging", "filters", "sort_key"]

MAX_PAGE_SIZE = 200
MAX_TEXT = 1000


class BadRequest(ValueError):
    """The request's parameters are malformed (HTTP 400)."""


def text(args: Mapping[str, str], name: str) -> str | None:
    value = args.get(name, "").strip()
    if len(value) > MAX_TEXT:
        raise BadRequest(f"{name}: at most {MAX_TEXT} characters")
    return value or None


def required(args: Mapping[str, str], name: str) -> str:
    value = text(args, name)
    if value is None:
        raise BadRequest(f"{name} is required")
    return value


def millis(args: Mapping[str, str], name: str) -> int | None:
    value = args.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name}: epoch milliseconds expected, got {value[:40]!r}") from None


def _positive(args: Mapping[str, str], name: str, default: int) -> int:
    value = args.get(name, "").strip()
    try:
        number = int(value) if value else default
    except ValueError:
        raise BadRequest(f"{name}: a whole number expected") from None
    if number < 1:
        raise BadRequest(f"{name}: must be at least 1")
    return number


def paging(args: Mapping[str, str], default_size: int = 50) -> tuple[int, int, dict[str, int]]:
    """(page, size, {"limit", "offset"}) from `page` (1-based) and `size`."""
    page, size = _positive(args, "page", 1), _positive(args, "size", default_size)
    if size > MAX_PAGE_SIZE:
        raise BadRequest(f"size: at most {MAX_PAGE_SIZE}")
    return page, size, {"limit": size, "offset": (page - 1) * size}


def filters(args: Mapping[str, str], known: Mapping[str, str]) -> tuple[list[str], dict[str, Any]]:
    """The filters of `known` (name -> SQL fragment) that the request sets, and their values.
    Names ending in `_ms` are epoch milliseconds; the others are text."""
    active: list[str] = []
    params: dict[str, Any] = {}
    for name in known:
        value = millis(args, name) if name.endswith("_ms") else text(args, name)
        if value is not None:
            active.append(name)
            params[name] = value
    return active, params


def sort_key(args: Mapping[str, str], orders: Mapping[str, str], default: str) -> tuple[str, bool]:
    """(a key of `orders`, descending?) from `sort` and `dir` (asc|desc, default desc)."""
    key = args.get("sort", "").strip() or default
    if key not in orders:
        raise BadRequest(f"sort: one of {', '.join(orders)}")
    direction = args.get("dir", "desc").strip().lower() or "desc"
    if direction not in ("asc", "desc"):
        raise BadRequest("dir: asc or desc")
    return key, direction == "desc"
