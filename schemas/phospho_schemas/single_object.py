"""Avro single-object encoding (Avro spec): 0xC3 0x01, the writer schema's 8-byte CRC-64-AVRO
fingerprint (little-endian), then the Avro binary body. Any reader that knows the writer schema
by its fingerprint can decode it; no schema registry is needed."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from fastavro import parse_schema, schemaless_writer

from .catalog import schema_fingerprint
from .fast_encoder import _Fallback, compile_encoder

__all__ = ["MAGIC", "HEADER_SIZE", "SingleObjectSerializer"]

MAGIC = b"\xc3\x01"
HEADER_SIZE = len(MAGIC) + 8


class SingleObjectSerializer:
    """A confluent-kafka style serializer: `serializer(record, ctx) -> bytes`.

    `ctx` (a SerializationContext) is accepted for interface compatibility and ignored: the
    encoding does not depend on the topic.
    """

    __slots__ = ("_schema", "_header", "_fast")

    def __init__(self, schema: dict[str, Any]) -> None:
        self._schema = parse_schema(schema)
        self._header = MAGIC + schema_fingerprint(schema)
        self._fast = compile_encoder(schema)

    @property
    def fingerprint(self) -> bytes:
        return self._header[2:]

    def __call__(self, record: dict[str, Any], ctx: object = None) -> bytes:
        if self._fast is not None:
            try:
                return b"".join(self._fast(record, [self._header]))
            except (_Fallback, KeyError):
                pass  # fastavro applies defaults and validates
        buf = BytesIO()
        buf.write(self._header)
        schemaless_writer(buf, self._schema, record)
        return buf.getvalue()
