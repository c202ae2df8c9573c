"""The one error root of the sinks package, and ClickHouse's messages made one line."""

from __future__ import annotations

import re

__all__ = ["StoreError", "ReadOnlyError", "clickhouse_message"]

_VERSION = re.compile(r"\s*\(version [\d.]+(?: \([^)]*\))?\)")
_REPEATED_CODE = re.compile(r"(Code: \d+\. DB::Exception: )(?:Code: \d+\. DB::Exception: )+")
_MAX_CHARS = 2000


class StoreError(Exception):
    """A ClickHouse store (chDB or server) refused or failed a statement, or cannot be opened."""


class ReadOnlyError(StoreError, ValueError):
    """The read-only path refused a statement: it would write, or read beyond the phospho database."""


def clickhouse_message(exc: BaseException) -> str:
    """ClickHouse's own message (`Code: 47. DB::Exception: ...`) on one line: from its first
    `Code:` on when there is one (a client's preamble and the server version dropped)."""
    text = str(exc)
    start = text.find("Code:")
    text = _VERSION.sub("", text[start:] if start >= 0 else text)
    line = _REPEATED_CODE.sub(r"\1", " ".join(text.split()))
    return line if len(line) <= _MAX_CHARS else line[: _MAX_CHARS - 1] + "…"
