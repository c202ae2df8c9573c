"""What a SQL statement does, for the read-only query path (`phospho-stream query`, the
dashboard): only statements that read are let through; values are always bound parameters."""

from __future__ import annotations

import re

from ._errors import ReadOnlyError

__all__ = ["READ_ONLY_KEYWORDS", "first_keyword", "check_read_only"]

READ_ONLY_KEYWORDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS"})
_COMMENTS = re.compile(r"(--[^\n]*|#[^\n]*|/\*.*?\*/)", re.S)
_INTO_OUTFILE = re.compile(r"\bINTO\s+OUTFILE\b", re.I)


def first_keyword(sql: str) -> str:
    text = _COMMENTS.sub(" ", sql).strip().lstrip("(").strip()
    match = re.match(r"[A-Za-z]+", text)
    return match.group(0).upper() if match else ""


def check_read_only(sql: str) -> None:
    """Raise ReadOnlyError unless `sql` is one statement that only reads."""
    stripped = _COMMENTS.sub(" ", sql).strip().rstrip(";").strip()
    if ";" in stripped:
        raise ReadOnlyError("one statement at a time on the read-only path")
    keyword = first_keyword(stripped)
    if keyword not in READ_ONLY_KEYWORDS:
        raise ReadOnlyError(f"{keyword or 'this statement'} is not allowed on the read-only path (only reads are)")
    if _INTO_OUTFILE.search(stripped):
        raise ReadOnlyError("INTO OUTFILE writes a file: not allowed on the read-only path")
