"""The core stage's state records as JSON: a task's facts, a task's place in its session.

Format 5 (formats 1-4 were pickles of a key's whole state, which could execute code when read
from a changelog anyone with write access could fill; they are not read: a deployment upgraded
from them starts its state afresh, see the README's upgrade notes). Every record is a JSON array whose first
item is the format, so a later format can still read this one.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..rules.joins import TaskFacts
from ..rules.sessions import Point

__all__ = ["FORMAT", "facts_key", "point_key", "dump_facts", "load_facts", "dump_point", "load_point", "split_point_key",
           "StateFormatError"]

FORMAT = 5


class StateFormatError(ValueError):
    """A state record this version cannot read."""


def facts_key(task_id: str) -> bytes:
    return b"t\x00" + task_id.encode("utf-8", "surrogatepass")


def point_key(skey: str, task_id: str) -> bytes:
    return b"p\x00" + skey.encode("utf-8", "surrogatepass") + b"\x00" + task_id.encode("utf-8", "surrogatepass")


def split_point_key(key: bytes) -> str:
    """The session key of a point record's key."""
    return key[2:].rsplit(b"\x00", 1)[0].decode("utf-8", "surrogatepass")


_FACTS = ("task_id", "first_seen_ms", "version", "event_id", "sent_at_ms", "skey", "at_ms", "session_id", "user_id",
          "logged_tokens", "usage", "span_ids", "llm_calls", "span_input_tokens", "span_output_tokens", "span_usage",
          "latency_us", "wall",
          "feedback_ids", "flag_key", "notes_key", "pending")
_SETS = frozenset({"span_ids", "feedback_ids"})


def _sets(value: Any) -> Any:
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def dump_facts(facts: TaskFacts) -> bytes:
    return orjson.dumps([FORMAT, [getattr(facts, name) for name in _FACTS]], default=_sets)


def _check(blob: bytes) -> list[Any]:
    try:
        record = orjson.loads(blob)
    except orjson.JSONDecodeError as exc:
        raise StateFormatError(f"state record is not JSON (an older, pickled format?): {exc}") from exc
    if not isinstance(record, list) or len(record) != 2 or record[0] != FORMAT:
        raise StateFormatError(f"state record of an unknown format: {blob[:40]!r}")
    return record[1]


def load_facts(blob: bytes) -> TaskFacts:
    values = _check(blob)
    fields = dict(zip(_FACTS, values, strict=True))
    for name in _SETS:
        if fields[name] is not None:
            fields[name] = set(fields[name])
    return TaskFacts(**fields)


def dump_point(point: Point, jv: int, av: int, window_id: str | None) -> bytes:
    """A task's point in its session, with the versions of its figures (core, analysis) and
    the window id its task row was last given."""
    return orjson.dumps([FORMAT, [list(point), jv, av, window_id]])


def load_point(blob: bytes) -> tuple[Point, int, int, str | None]:
    values, jv, av, window_id = _check(blob)
    point = Point(*values)  # a record written before a field was added leaves it at its default
    return point._replace(events=tuple(point.events)), jv, av, window_id
