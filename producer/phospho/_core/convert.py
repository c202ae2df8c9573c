"""What an app's value becomes, in the caller's thread: loggable (JSON-like) content; created_at in ms.

phospho's rule: pydantic v2 objects -> model_dump(); pydantic v1 -> .dict(); bytes ->
json.loads; dicts (and, our choice, lists and tuples) converted value by value; anything else
-> str(x). Containers are copied, so what log() accepted is a snapshot: the app may change its
objects afterwards. Conversion never raises: an object whose str(), repr(), items() or
iteration raises, a container that contains itself, nesting deeper than MAX_DEPTH or more than
MAX_VALUES values become a placeholder text, and the reason is appended to `errors`.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

__all__ = ["to_loggable", "safe_text", "event_time_ms", "MAX_DEPTH", "MAX_VALUES"]

MAX_DEPTH = 64
MAX_VALUES = 200_000
_SCALARS = frozenset({str, int, float, bool, type(None)})
_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z


def to_loggable(value: Any, errors: list[str] | None = None, where: str = "value") -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict and len(value) <= 64:  # the common case, a flat dict of scalars: its copy
        scalars, out = _SCALARS, {}
        for key, item in value.items():
            if type(item) not in scalars or type(key) not in scalars:
                break
            out[key] = item
        else:
            return out
    return _Converter(errors, where).convert(value, 0)


def _note(errors: list[str] | None, message: str) -> None:
    if errors is not None and message not in errors:
        errors.append(message)


def safe_text(value: Any) -> str:
    """str(value), else repr(value), else a placeholder naming its type: never raises (for the
    app's exceptions and objects in messages)."""
    if type(value) is str:
        return value
    for render in (str, repr):
        try:
            text = render(value)
            if type(text) is str:
                return text
        except Exception:
            pass
    return f"<unprintable {type(value).__name__}>"


class _Converter:
    """One conversion: the reasons go to `errors`; `path` holds the containers being converted
    (a container met again inside itself is a cycle), `left` the values still allowed."""

    __slots__ = ("errors", "where", "path", "left")

    def __init__(self, errors: list[str] | None, where: str) -> None:
        self.errors, self.where = errors, where
        self.path: set[int] = set()
        self.left = MAX_VALUES

    def placeholder(self, value: Any, why: str) -> str:
        name = type(value).__name__
        _note(self.errors, f"{self.where}: {name} {why}, replaced by a placeholder")
        return f"<{name}: {why}>"

    def convert(self, value: Any, depth: int) -> Any:
        kind = type(value)
        if kind in _SCALARS:
            return value
        self.left -= 1
        if self.left < 0:
            return self.placeholder(value, f"beyond the first {MAX_VALUES} values")
        if depth >= MAX_DEPTH:
            _note(self.errors, f"{self.where}: nested deeper than {MAX_DEPTH} levels, replaced by a placeholder")
            return f"<nested deeper than {MAX_DEPTH} levels>"
        if issubclass(kind, (dict, list, tuple)):
            ident = id(value)
            if ident in self.path:
                return self.placeholder(value, "contains itself")
            self.path.add(ident)
            try:
                return self._mapping(value, depth) if issubclass(kind, dict) else self._sequence(value, depth)
            finally:
                self.path.discard(ident)
        if issubclass(kind, (bytes, bytearray, memoryview)):
            return self._bytes(value, depth)
        return self._object(value, depth)

    def _mapping(self, value: dict, depth: int) -> Any:
        out: dict[Any, Any] = {}
        try:
            for key, item in value.items():
                if type(key) not in _SCALARS:
                    _note(self.errors, f"{self.where}: non-string key of type {type(key).__name__} stored as str")
                    key = safe_text(key)
                out[key] = self.convert(item, depth + 1)
        except Exception as exc:
            return self.placeholder(value, f"items() raised {type(exc).__name__}")
        return out

    def _sequence(self, value: list | tuple, depth: int) -> Any:
        try:
            items = [self.convert(item, depth + 1) for item in value]
        except Exception as exc:
            return self.placeholder(value, f"iteration raised {type(exc).__name__}")
        return tuple(items) if type(value) is tuple else items

    def _bytes(self, value: bytes | bytearray | memoryview, depth: int) -> Any:
        try:
            text = bytes(value).decode("utf-8", errors="replace")
        except Exception as exc:
            return self.placeholder(value, f"bytes() raised {type(exc).__name__}")
        try:
            parsed = json.loads(text)
        except ValueError:
            _note(self.errors, f"{self.where}: bytes that are not JSON were kept as text")
            return text
        return self.convert(parsed, depth + 1)

    def _object(self, value: Any, depth: int) -> Any:
        try:
            dump = getattr(value, "model_dump", None)  # pydantic v2, without importing pydantic
            if dump is None and hasattr(value, "__fields__") and hasattr(value, "dict"):
                dump = value.dict  # pydantic v1
        except Exception as exc:
            _note(self.errors, f"{self.where}: {type(value).__name__} attribute lookup raised {type(exc).__name__}")
            dump = None
        if callable(dump):
            try:
                dumped = dump()
            except Exception as exc:
                _note(self.errors, f"{self.where}: {type(value).__name__}.model_dump() raised {type(exc).__name__}")
            else:
                return self.convert(dumped, depth + 1)
        try:
            text = str(value)
            if type(text) is str:
                return text
            raise TypeError(f"__str__ returned {type(text).__name__}")
        except Exception as exc:
            return self.placeholder(value, f"str() raised {type(exc).__name__}")


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
            raise ValueError(repr(seconds))
        # unix seconds are expected; milli-, micro- and nanoseconds are recognised by magnitude
        for limit, divisor in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
            if seconds > limit:
                seconds /= divisor
                break
        if seconds > _MAX_SECONDS:
            raise ValueError(f"{seconds!r} seconds is after the year 9999")
        return int(round(seconds * 1000))
    except Exception as exc:
        errors.append(f"created_at: {safe_text(exc)} is not unix seconds, a datetime or an ISO date; client time used")
        return None
