"""The Avro schemas of the wire contract, loaded from the .avsc files shipped with the package.

`avro/*.avsc` are the current schemas; `avro/history/*.avsc` keep every earlier version so
that readers can still resolve events written by older producers (single-object encoding names
its writer schema by fingerprint only).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

__all__ = [
    "EVENT_KINDS",
    "raw_schema",
    "parsed_schema",
    "schema_fingerprint",
    "historical_schemas",
]

#: event kind -> schema file stem
EVENT_KINDS: dict[str, str] = {
    "task": "task_event",
    "span": "span_event",
    "feedback": "feedback_event",
}


def _read(path: str) -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath(path).read_text("utf-8"))


@cache
def raw_schema(kind: str) -> dict[str, Any]:
    """The current schema of an event kind ('task', 'span', 'feedback') as a JSON dict."""
    try:
        stem = EVENT_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown event kind {kind!r}; expected one of {sorted(EVENT_KINDS)}") from None
    return _read(f"avro/{stem}.avsc")


@cache
def parsed_schema(kind: str) -> dict[str, Any]:
    """The current schema parsed by fastavro (what the encoders and readers use)."""
    return parse_schema(raw_schema(kind))


def schema_fingerprint(schema: dict[str, Any]) -> bytes:
    """The Avro CRC-64-AVRO fingerprint of a schema's parsing canonical form, as the 8 bytes
    the single-object encoding puts on the wire (little-endian)."""
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))


@cache
def historical_schemas() -> tuple[dict[str, Any], ...]:
    """Every earlier schema version shipped in avro/history (may be empty)."""
    folder = resources.files(__package__).joinpath("avro/history")
    if not folder.is_dir():
        return ()
    return tuple(
        _read(f"avro/history/{entry.name}")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".avsc")
    )
