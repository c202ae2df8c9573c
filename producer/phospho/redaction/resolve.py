"""Which of the found values are replaced (overlaps: the longest, then the earlier rule), and by what."""

from __future__ import annotations

from collections.abc import Sequence

from .spans import Found

__all__ = ["choose", "Chosen"]

#: (found value, index of its rule)
Chosen = tuple[Found, int]


def choose(found: Sequence[Chosen], protected: Sequence[tuple[int, int]] = ()) -> list[Chosen]:
    """Non-overlapping values, in text order: among overlapping ones the longest wins, then the one
    of the earlier rule, then the earlier one in the text. A value overlapping a `protected` span
    (a token already in the text) is left alone."""
    if len(found) == 1 and not protected:
        return list(found)
    taken: list[tuple[int, int]] = list(protected)
    chosen: list[Chosen] = []
    for item in sorted(found, key=lambda c: (c[0].start - c[0].end, c[1], c[0].start)):
        start, end = item[0].start, item[0].end
        if all(end <= s or start >= e for s, e in taken):
            taken.append((start, end))
            chosen.append(item)
    chosen.sort(key=lambda c: c[0].start)
    return chosen
