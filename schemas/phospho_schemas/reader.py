"""Decode phospho events in both encodings the SDK writes:

* Avro single-object encoding (no registry): the writer schema is found by fingerprint among
  the schemas this package ships (current and history) plus any registered with `add_schema`;
* the Confluent wire format (0x00 + 4-byte big-endian schema id + body), with the writer schema
  fetched once per id from a schema registry.

The body is resolved against the reader's current schema (Avro schema evolution), so an event
written with an older schema is read with new fields set to their defaults.
"""

from __future__ import annotations

import json
import threading
from io import BytesIO
from typing import Any

from fastavro import parse_schema, schemaless_reader

from ._errors import DecodeError, UnknownSchemaError
from .catalog import EVENT_KINDS, historical_schemas, parsed_schema, raw_schema, schema_fingerprint
from .fast_decoder import FastDecodeError, compile_decoder
from .single_object import HEADER_SIZE, MAGIC

__all__ = ["EventDecoder", "CONFLUENT_MAGIC"]

CONFLUENT_MAGIC = 0
_KIND_BY_NAME = {f"phospho.events.{raw_schema(k)['name']}": k for k in EVENT_KINDS}


def _kind_of(schema: dict[str, Any]) -> str | None:
    name = schema.get("name", "")
    if "." not in name and schema.get("namespace"):
        name = f"{schema['namespace']}.{name}"
    return _KIND_BY_NAME.get(name)


_TIMESTAMPS = ("timestamp-millis", "timestamp-micros")


def _plain_timestamps(schema: Any) -> Any:
    """A copy of `schema` whose timestamps are plain longs (their wire form is the same)."""
    if isinstance(schema, dict):
        if schema.get("logicalType") in _TIMESTAMPS:
            return {k: v for k, v in schema.items() if k != "logicalType"}
        return {k: _plain_timestamps(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_plain_timestamps(x) for x in schema]
    return schema


class EventDecoder:
    """`decode(value) -> (kind, record)` for values written by the phospho SDK.

    `registry` is a confluent_kafka SchemaRegistryClient (or anything with
    `get_schema(id).schema_str`); without one, Confluent-framed values raise UnknownSchemaError.
    With `timestamps_as_ms`, timestamps are read as the integers the wire holds (milliseconds
    since the epoch) instead of datetimes: what the stream worker wants, ~4 us less per task.
    A body written with the current schema is then read by a decoder generated for it
    (`fast_decoder.py`, ~8 us instead of ~13 us per task); anything else, and anything that
    decoder cannot read, goes through fastavro.
    """

    def __init__(self, registry: Any | None = None, timestamps_as_ms: bool = False) -> None:
        self._registry = registry
        self._ms = timestamps_as_ms
        # what records are resolved against; a writer schema that is the current one is this
        # very object, and fastavro then skips resolving
        self._readers = {k: parse_schema(_plain_timestamps(raw_schema(k))) if timestamps_as_ms else parsed_schema(k)
                         for k in EVENT_KINDS}
        # kind -> a decoder generated for the current schema (timestamps as ms only)
        self._fast = {k: fast for k in EVENT_KINDS
                      if timestamps_as_ms and (fast := compile_decoder(_plain_timestamps(raw_schema(k)))) is not None}
        self._lock = threading.Lock()
        self._by_fingerprint: dict[bytes, tuple[str, dict[str, Any]]] = {}
        self._by_registry_id: dict[int, tuple[str, dict[str, Any]]] = {}
        for kind in EVENT_KINDS:
            self.add_schema(raw_schema(kind))
        for schema in historical_schemas():
            self.add_schema(schema)

    def add_schema(self, schema: dict[str, Any]) -> bytes:
        """Make a writer schema known (e.g. an older version); returns its fingerprint."""
        kind = _kind_of(schema)
        if kind is None:
            raise ValueError(f"schema {schema.get('name')!r} is not a phospho event schema")
        fp = schema_fingerprint(schema)
        self._by_fingerprint[fp] = (kind, self._writer(kind, schema, fp))
        return fp

    def _writer(self, kind: str, schema: dict[str, Any], fp: bytes) -> dict[str, Any]:
        # the current schema as the very object the reader resolves against: fastavro then skips
        # resolving (it compares writer and reader; a second, equal parse costs ~10 us per event)
        if fp == schema_fingerprint(raw_schema(kind)):
            return self._readers[kind]
        return parse_schema(_plain_timestamps(schema) if self._ms else schema)

    def decode(self, value: bytes | None, expected_kind: str | None = None) -> tuple[str, dict[str, Any]]:
        if not value:
            raise DecodeError("empty message value")
        if value[:2] == MAGIC and len(value) >= HEADER_SIZE:  # Avro single-object encoding
            start, fp = HEADER_SIZE, bytes(value[2:HEADER_SIZE])
            try:
                kind, writer = self._by_fingerprint[fp]
            except KeyError:
                raise UnknownSchemaError(f"unknown writer schema fingerprint {fp.hex()}") from None
        elif value[0] == CONFLUENT_MAGIC and len(value) > 5:
            start = 5
            kind, writer = self._registry_schema(int.from_bytes(value[1:5], "big"))
        else:
            raise DecodeError(f"not a phospho event: unknown framing (first bytes {bytes(value[:4]).hex()})")
        if expected_kind is not None and kind != expected_kind:
            raise DecodeError(f"expected a {expected_kind} event, got a {kind} event")
        reader = self._readers[kind]
        if writer is reader and type(value) is bytes and (fast := self._fast.get(kind)) is not None:
            try:
                record, end = fast(value, start)
                if end == len(value):
                    return kind, record
            except FastDecodeError:
                pass  # fastavro decides, and says why
        body = memoryview(value)[start:]
        buf = BytesIO(body)
        try:  # no reader schema when the writer's is the current one: fastavro then skips resolving
            record = schemaless_reader(buf, writer, None if writer is reader else reader)
        except Exception as exc:  # fastavro raises EOFError, ValueError, UnicodeDecodeError...
            raise DecodeError(f"corrupt {kind} event body: {type(exc).__name__}: {exc}") from exc
        if buf.tell() != len(body):
            raise DecodeError(f"{len(body) - buf.tell()} trailing bytes after the {kind} event body")
        return kind, record

    def _registry_schema(self, schema_id: int) -> tuple[str, dict[str, Any]]:
        cached = self._by_registry_id.get(schema_id)
        if cached is not None:
            return cached
        if self._registry is None:
            raise UnknownSchemaError(
                f"Confluent-framed event (schema id {schema_id}) but no schema registry is configured"
            )
        try:
            schema = json.loads(self._registry.get_schema(schema_id).schema_str)
        except Exception as exc:
            raise UnknownSchemaError(f"schema id {schema_id} not found in the registry: {exc}") from exc
        kind = _kind_of(schema)
        if kind is None:
            raise UnknownSchemaError(f"schema id {schema_id} is not a phospho event schema")
        entry = (kind, self._writer(kind, schema, schema_fingerprint(schema)))
        with self._lock:
            self._by_registry_id[schema_id] = entry
        return entry
