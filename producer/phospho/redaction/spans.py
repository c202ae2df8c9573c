"""A found value and the finder contract; the text the finders read (digits made ASCII)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

__all__ = ["Found", "Finder", "TextFacts", "scan", "ascii_digits", "text_facts", "NUMBER_RUN"]


class Found(NamedTuple):
    """text[start:end] is the value; `value` is its normal form (e.g. a phone number in E.164)."""

    start: int
    end: int
    value: str


class TextFacts(NamedTuple):
    """What one pass over a text's numbers tells, so that number detectors skip texts that cannot
    hold what they look for: a run is a digit, then digits and separators (space . - / ( ))."""

    digits: int              #: ASCII digits in the text
    longest_run: int = 0     #: characters of its longest run (digits and separators)
    dotted_run: bool = False  #: a run has 3 dots or more (an IPv4 address may be there)
    run_after_letters: bool = False  #: a run starts right after two letters (an IBAN may)


#: a detector: every value it finds in a text, in any order, possibly overlapping
Finder = Callable[[str, TextFacts], list[Found]]

#: the runs TextFacts describes: the one regex pass every number detector's gate reads
NUMBER_RUN = re.compile("[0-9][0-9 .\\-/()\u00a0\u202f]*")

_OTHER_DIGIT = re.compile(r"[^\D0-9]")
#: what the view maps: other scripts' digits, full-width forms (＋８１ ９０－１２３４), the ideographic space
_TO_MAP = re.compile("[^\\D0-9]|[\uff01-\uff5e\u3000]")
_DIGITS = b"0123456789"


def ascii_digits(text: str) -> str:
    """`text` with other scripts' decimal digits ('٤', '４') as ASCII ones, and with them full-width
    punctuation ('＋', '－'): same length, so what is found in it is at the same place in `text`."""
    if text.isascii() or _OTHER_DIGIT.search(text) is None and "\uff0b" not in text:
        return text
    return _TO_MAP.sub(_ascii, text)


def _ascii(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\u3000":
        return " "
    if "\uff01" <= char <= "\uff5e":
        return chr(ord(char) - 0xFEE0)
    return str(unicodedata.decimal(char))


def text_facts(text: str) -> TextFacts:
    """The digits of `text` (counted on its UTF-8 bytes, where 0x30-0x39 are those digits only),
    then, when there are enough for any number detector, its runs of digits."""
    data = text.encode("ascii") if text.isascii() else text.encode("utf-8", "surrogatepass")
    digits = len(data) - len(data.translate(None, _DIGITS))
    if digits < 4:
        return TextFacts(digits)
    longest, dotted, after_letters = 0, False, False
    for run in NUMBER_RUN.finditer(text):
        start, end = run.span()
        longest = max(longest, end - start)
        dotted = dotted or text.count(".", start, end) >= 3
        after_letters = after_letters or start >= 2 and text[start - 2:start].isalpha()
    return TextFacts(digits, longest, dotted, after_letters)


def scan(pattern: re.Pattern[str], text: str, check: Callable[[re.Match[str]], Found | None],
         retry_inside: bool = False) -> list[Found]:
    """Each candidate `pattern` finds, kept when `check` accepts it (possibly shortened); the next
    candidate is searched from the end of what was kept, so a candidate that ran into the next
    value does not hide it. `retry_inside`: after a refused candidate, search again from its
    second character (a value may start inside it: '2024 4111 1111 1111 1111'), not its end."""
    found = []
    at = 0
    while (match := pattern.search(text, at)) is not None:
        item = check(match)
        if item is None:
            at = match.start() + 1 if retry_inside else match.end()
        else:
            found.append(item)
            at = item.end
    return found
