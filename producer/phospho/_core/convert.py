"""What an app's value becomes, in the caller's thread: loggable (JSON-like) content; created_at in ms.

phospho's rule: JSON-able values stay as they are (same object); pydantic v2 objects ->
model_dump(); pydantic v1 -> .dict(); bytes -> json.loads; dicts (and, our choice, lists and
tuples) converted value by value; anything else -> str(x). Conversion never raises: what cannot
be converted is replaced by a placeholder string and a reason is appended to `errors`.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

__all__ = ["to_loggable", "event_time_ms", "MAX_DEPTH"]

MAX_DEPTH = 64
_SCALARS = frozenset({str, int, float, bool, type(None)})
_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z


def to_loggable(value: Any, errors: list[str] | None = None, where: str = "value") -> Any:
    if type(value) in _SCALARS:
        return value
    return _convert(value, 0, errors, where)


def _note(errors: list[str] | None, message: str) -> None:
    if errors is not None and message not in errors:
        errors.append(message)


def _safe_str(value: Any, errors: list[str] | None, where: str) -> str:
    try:
        return str(value)
    except Exception as exc:  # a broken __str__ must not break the app
        _note(errors, f"{where}: str() of {type(value).__name__} raised {type(exc).__name__}")
        return f"<unprintable {type(value).__name__}>"


def _convert(value: Any, depth: int, errors: list[str] | None, where: str) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if depth >= MAX_DEPTH:
        _note(errors, f"{where}: nested deeper than {MAX_DEPTH} levels, replaced by a placeholder")
        return f"<nested deeper than {MAX_DEPTH} levels>"
    if isinstance(value, dict):
        out, changed = {}, False
        for key, item in value.items():
            converted = _convert(item, depth + 1, errors, where)
            changed = changed or converted is not item
            out[key] = converted
        return out if changed else value
    if isinstance(value, (list, tuple)):
        items = [_convert(item, depth + 1, errors, where) for item in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = bytes(value).decode("utf-8", errors="replace")
        try:
            return _convert(json.loads(text), depth + 1, errors, where)
        except ValueError:
            _note(errors, f"{where}: bytes that are not JSON were kept as text")
            return text
    dump = getattr(value, "model_dump", None)  # pydantic v2, without importing pydantic
    if dump is None and hasattr(value, "__fields__") and hasattr(value, "dict"):
        dump = value.dict  # pydantic v1
    if callable(dump):
        try:
            dumped = dump()
        except Exception as exc:
            _note(errors, f"{where}: {type(value).__name__}.model_dump() raised {type(exc).__name__}")
            return _safe_str(value, errors, where)
        return _convert(dumped, depth + 1, errors, where)
    return _safe_str(value, errors, where)


def event_time_ms(value: Any, errors: list[str]) -> int | None:
    """The `created_at` keyword (unix seconds; also datetimes and ISO strings) in milliseconds."""
    try:
        if isinstance(value, bool):
            raise TypeError("a bool")
        if isinstance(value, (int, float)):
            seconds = float(value)
        elif isinstance(value, datetime):
            seconds = value.timestamp()
        elif isinstance(value, str):
            seconds = datetime.fromisoformat(value).timestamp()
        else:
            raise TypeError(type(value).__name__)
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(repr(value))
        # unix seconds are expected; milli-, micro- and nanoseconds are recognised by magnitude
        for limit, divisor in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
            if seconds > limit:
                seconds /= divisor
                break
        if seconds > _MAX_SECONDS:
            raise ValueError(f"{value!r} is after the year 9999")
        return int(round(seconds * 1000))
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        errors.append(f"created_at: {exc} is not unix seconds, a datetime or an ISO date; client time used")
        return None
