"""Walking a JSON-like value: every string leaf (and long integer) through a text redaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Tally", "redact_tree", "MAX_DEPTH", "LONG_INT"]

#: containers nested deeper than this are cut (replaced by ''), not searched
MAX_DEPTH = 64
#: integers from this size on may be card or phone numbers written as numbers
LONG_INT = 1_000_000


class Tally:
    """What the redaction of one value found: counts per rule key, drop, errors."""

    __slots__ = ("counts", "dropped", "errors")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.dropped = False
        self.errors: list[str] = []

    def count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def merge(self, other: Tally) -> None:
        for key, count in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + count
        self.dropped = self.dropped or other.dropped
        self.errors.extend(other.errors)

    def fail(self, message: str) -> None:
        """A search that could not finish: the field is dropped, as nothing unchecked may stay."""
        self.dropped = True
        self.errors.append(message)


def redact_tree(value: Any, text: Callable[[str], str], tally: Tally, depth: int = 0) -> Any:
    """`value` with `text` applied to each string leaf; containers are copied only when changed."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) < LONG_INT:
            return value
        digits = str(value)
        redacted = text(digits)
        return value if redacted == digits else redacted
    if not isinstance(value, Mapping | list | tuple):
        return value
    if depth >= MAX_DEPTH:
        tally.fail(f"a value nested deeper than {MAX_DEPTH} levels: the field was dropped")
        return ""
    if isinstance(value, Mapping):
        items = {key: redact_tree(item, text, tally, depth + 1) for key, item in value.items()}
        changed = any(items[key] is not item for key, item in value.items())
        return items if changed or not isinstance(value, dict) else value
    items_list = [redact_tree(item, text, tally, depth + 1) for item in value]
    if all(new is old for new, old in zip(items_list, value, strict=True)):
        return value
    return tuple(items_list) if isinstance(value, tuple) else items_list
