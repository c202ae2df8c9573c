"""Any logged value to clean, bounded text: JSON string leaves, bytes, lone surrogates, controls."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

__all__ = ["clean_text"]

#: what a logged text may hold that the analysers cannot take: C0 controls but tab and newlines,
#: DEL, lone surrogates (text decoded with surrogateescape, or cut inside a pair)
_UNCLEAN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATES = re.compile("[\ud800-\udfff]")
#: a cut that lands inside a word backs off to the word's start when it is this close
_WORD_BACKOFF = 64


def clean_text(value: Any, max_chars: int) -> tuple[str, bool]:
    """(text, truncated): `value` as text, at most `max_chars` characters, NFC, no controls.

    A dict or list (or a string holding JSON of one) gives its string leaves, one per line, keys
    left out; bytes are read as UTF-8 with replacement characters; None gives ''.
    """
    if value is None:
        return "", False
    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        parsed = _json_container(value)
        if parsed is None:
            return _tidy(*_clip(value, max_chars))
        value = parsed
    if isinstance(value, dict | list | tuple):
        return _tidy(*_leaves(value, max_chars))
    return _tidy(*_clip(str(value), max_chars))


def _json_container(text: str) -> dict[str, Any] | list[Any] | None:
    stripped = text.strip()
    if len(stripped) < 2 or (stripped[0], stripped[-1]) not in (("{", "}"), ("[", "]")):
        return None
    try:
        parsed = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict | list) else None


def _leaves(container: dict[str, Any] | list[Any] | tuple[Any, ...], max_chars: int) -> tuple[str, bool]:
    """The string leaves of `container`, depth first, until `max_chars` characters are gathered."""
    parts: list[str] = []
    size = 0
    stack: list[Any] = [container]
    stopped = False
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item))
        elif isinstance(item, str) and item.strip():
            parts.append(item)
            size += len(item) + 1
            if size > max_chars:
                stopped = bool(stack)
                break
    text, truncated = _clip("\n".join(parts), max_chars)
    return text, truncated or stopped


def _clip(text: str, max_chars: int) -> tuple[str, bool]:
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    if text[max_chars].isalnum() and cut[-1:].isalnum():  # do not leave half a word at the end
        start = max_chars - 1
        while start > max_chars - _WORD_BACKOFF and start > 0 and cut[start - 1].isalnum():
            start -= 1
        if start > max_chars - _WORD_BACKOFF and start > 0:
            cut = cut[:start]
    return cut, True


def _tidy(text: str, truncated: bool) -> tuple[str, bool]:
    if not text.isascii():
        if _UNCLEAN.search(text):
            text = _CONTROLS.sub(" ", _SURROGATES.sub("\ufffd", text))
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
    elif _CONTROLS.search(text):
        text = _CONTROLS.sub(" ", text)
    return text, truncated
