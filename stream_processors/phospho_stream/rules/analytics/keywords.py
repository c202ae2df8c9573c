"""Many keywords at once (Aho-Corasick): case-insensitive, whole words, Unicode-aware.

A keyword matches where it stands as whole words: the characters beside it are not letters,
digits, marks or '_', nor a hyphen joining it to another word ("mail" is not in "e-mail",
"refund" is in "refund?", "refund!" and "(refund)", not in "refunds"). Scripts written without
spaces (Chinese, Japanese, Thai...) need no boundary. Case is folded (`str.casefold`, so "STRASSE"
finds "straße") and both sides are in NFC.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

import ahocorasick

__all__ = ["KeywordMatcher", "fold"]

Tag = TypeVar("Tag", bound=Hashable)
_HYPHENS = frozenset("-\u2010\u2011")


def fold(text: str) -> str:
    """The form keywords and texts are compared in: NFC, case-folded."""
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text.casefold()


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_" or (c > "\u02ff" and unicodedata.category(c)[0] == "M")


def _spaceless(c: str) -> bool:
    """A character of a script written without spaces between words (CJK, kana, Thai, Lao, Khmer, Myanmar)."""
    o = ord(c)
    return (0x2E80 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0xFF66 <= o <= 0xFF9F
            or 0x0E00 <= o <= 0x0EFF or 0x1000 <= o <= 0x109F or 0x1780 <= o <= 0x17FF
            or 0x20000 <= o <= 0x3FFFF)


def _needs_boundary(c: str) -> bool:
    return _is_word_char(c) and not _spaceless(c)


class KeywordMatcher(Generic[Tag]):
    """Finds, in one pass over a text, which tags have one of their keywords in it."""

    def __init__(self, keywords: Iterable[tuple[str, Tag]]) -> None:
        entries: dict[str, list[tuple[Tag, str]]] = {}
        for keyword, tag in keywords:
            folded = fold(keyword.strip())
            if folded:
                entries.setdefault(folded, []).append((tag, keyword.strip()))
        self._automaton = ahocorasick.Automaton()
        for folded, tags in entries.items():
            self._automaton.add_word(folded, (len(folded), _needs_boundary(folded[0]),
                                              _needs_boundary(folded[-1]), tuple(tags)))
        self._empty = not entries
        #: whether a keyword holds a newline (so that it may match across two lines of a text)
        self.spans_lines = any("\n" in folded for folded in entries)
        if entries:
            self._automaton.make_automaton()

    def find(self, text: str) -> dict[Tag, str]:
        """tag -> the first of its keywords (as configured) found in `text` as whole words."""
        found: dict[Tag, str] = {}
        if self._empty or not text:
            return found
        folded = fold(text)
        for end, (length, check_left, check_right, tags) in self._automaton.iter(folded):
            start = end - length + 1
            if check_left and start > 0 and _joined(folded, start - 1, -1):
                continue
            if check_right and end + 1 < len(folded) and _joined(folded, end + 1, 1):
                continue
            for tag, keyword in tags:
                found.setdefault(tag, keyword)
        return found


def _joined(text: str, i: int, step: int) -> bool:
    """Whether text[i], next to a keyword's edge (step -1: before it, 1: after it), joins a word."""
    c = text[i]
    if c in _HYPHENS:
        j = i + step
        return 0 <= j < len(text) and _needs_boundary(text[j])
    return _needs_boundary(c)
