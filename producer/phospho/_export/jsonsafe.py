"""Lossless-where-possible JSON text and flattened string maps, for the sender thread.

Standard JSON cannot hold NaN or infinities, non-string keys other than scalars, or arbitrary
objects: those are coerced (NaN/inf -> null, keys -> str(key), objects -> str(x), nesting deeper
than MAX_DEPTH -> a placeholder) and each coercion is recorded in `errors`.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps", "flatten", "MAX_DEPTH"]

MAX_DEPTH = 64
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def dumps(value: Any, errors: list[str], where: str) -> str:
    try:
        return _encode(value)
    except (ValueError, TypeError, RecursionError):
        return _encode(_sanitize(value, errors, where, 0))


def _note(errors: list[str], message: str) -> None:
    if message not in errors:
        errors.append(message)


def _sanitize(value: Any, errors: list[str], where: str, depth: int) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        _note(errors, f"{where}: non-finite number {value!r} stored as null")
        return None
    if depth >= MAX_DEPTH:
        _note(errors, f"{where}: nested deeper than {MAX_DEPTH} levels, replaced by a placeholder")
        return f"<nested deeper than {MAX_DEPTH} levels>"
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                if not (key is None or isinstance(key, (bool, int, float))):
                    _note(errors, f"{where}: non-string key of type {type(key).__name__} stored as str")
                key = str(key)
            out[key] = _sanitize(item, errors, where, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_sanitize(item, errors, where, depth + 1) for item in value]
    try:
        return str(value)
    except Exception:
        _note(errors, f"{where}: unprintable {type(value).__name__} replaced by a placeholder")
        return f"<unprintable {type(value).__name__}>"


def flatten(extras: dict[str, Any], errors: list[str]) -> dict[str, str]:
    """A string map of `extras` with dotted keys for nested dicts. The keys of a top-level
    `metadata` dict lose their 'metadata.' prefix; on a clash the other keyword wins. Strings
    stay, every other value is JSON text (lists are kept whole as JSON)."""
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any, depth: int) -> None:
        if isinstance(value, dict) and value and depth < 16:
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item, depth + 1)
        elif isinstance(value, str):
            out[prefix] = value
        else:
            out[prefix] = dumps(value, errors, f"metadata.{prefix}")

    metadata = extras.get("metadata")
    if isinstance(metadata, dict) and metadata:
        walk("", metadata, 0)
    for key, value in extras.items():
        if key == "metadata" and isinstance(metadata, dict):
            continue
        walk(str(key), value, 0)
    return out
