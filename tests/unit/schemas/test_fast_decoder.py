"""The generated Avro decoder (phospho_schemas.fast_decoder) against fastavro: the same record
for every valid body, and for damaged bytes either the same outcome as fastavro or a
FastDecodeError that hands the bytes to fastavro."""

from __future__ import annotations

import random
from io import BytesIO
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader
from test_encoding import SAMPLES, avro_body, edge_record

from phospho_schemas import (
    EVENT_KINDS,
    DecodeError,
    EventDecoder,
    SingleObjectSerializer,
    raw_schema,
)
from phospho_schemas.fast_decoder import FastDecodeError, compile_decoder
from phospho_schemas.fast_encoder import zigzag_varint
from phospho_schemas.reader import _plain_timestamps


def plain(kind: str) -> dict[str, Any]:
    return _plain_timestamps(raw_schema(kind))


def fastavro_read(schema: dict[str, Any], body: bytes) -> tuple[dict[str, Any], int]:
    buf = BytesIO(body)
    return schemaless_reader(buf, parse_schema(schema), None), buf.tell()


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_every_event_schema_gets_a_generated_decoder(kind: str) -> None:
    assert compile_decoder(plain(kind)) is not None


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_it_reads_what_fastavro_reads_on_edge_values(kind: str) -> None:
    rng = random.Random(f"fast-{kind}")
    decode = compile_decoder(plain(kind))
    for round_ in range(200):
        body = avro_body(raw_schema(kind), edge_record(kind, rng))
        prefix = bytes(rng.randrange(256) for _ in range(rng.choice([0, 5, 10])))
        record, end = decode(prefix + body, len(prefix))
        assert (record, end - len(prefix)) == fastavro_read(plain(kind), body), (kind, round_)
        assert list(record) == [f["name"] for f in raw_schema(kind)["fields"]]  # fastavro's order too


def test_blocks_with_byte_sizes_and_several_blocks_are_read() -> None:
    """Avro lets a writer split a map or an array into blocks, and give a block's size in bytes
    (a negative count): fastavro's writer never does, other writers may."""
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "m", "type": {"type": "map", "values": "string"}},
        {"name": "a", "type": {"type": "array", "items": "string"}}]}

    def s(text: str) -> bytes:
        return zigzag_varint(len(text.encode())) + text.encode()

    pair = s("k1") + s("v1")
    body = (zigzag_varint(-1) + zigzag_varint(len(pair)) + pair + zigzag_varint(1) + s("k2") + s("v2") + b"\x00"
            + zigzag_varint(2) + s("x") + s("y") + zigzag_varint(-1) + zigzag_varint(2) + s("z") + b"\x00")
    expected = ({"m": {"k1": "v1", "k2": "v2"}, "a": ["x", "y", "z"]}, len(body))
    assert fastavro_read(schema, body) == expected
    assert compile_decoder(schema)(body, 0) == expected


@pytest.mark.parametrize("field_type", [
    {"type": "long", "logicalType": "timestamp-millis"},  # the datetime reading stays fastavro's
    {"type": "enum", "name": "E", "symbols": ["A"]},
    ["null", "string", "long"],
    {"type": "record", "name": "Inner", "fields": []},
    "double",
    {"type": "map", "values": "double"},
])
def test_schemas_it_does_not_cover_get_no_decoder(field_type: Any) -> None:
    assert compile_decoder({"type": "record", "name": "R", "fields": [{"name": "f", "type": field_type}]}) is None


def test_damaged_bodies_are_read_as_fastavro_reads_them_or_handed_back() -> None:
    """Fuzz: flipped, cut or random bytes give the generated decoder's record only when it is
    fastavro's record for the same bytes; otherwise FastDecodeError (never another error)."""
    rng = random.Random(99)
    schemas = {k: plain(k) for k in EVENT_KINDS}
    decoders = {k: compile_decoder(s) for k, s in schemas.items()}
    bodies = {k: avro_body(raw_schema(k), SAMPLES[k]()) for k in EVENT_KINDS}
    outcomes = {"same": 0, "handed back": 0}
    for i in range(4000):
        kind = rng.choice(sorted(EVENT_KINDS))
        body = bytearray(bodies[kind])
        if i % 3 == 0:
            for _ in range(rng.randint(1, 4)):
                body[rng.randrange(len(body))] = rng.randrange(256)
        elif i % 3 == 1:
            body = body[: rng.randrange(len(body))]
        else:
            body = bytearray(rng.randrange(256) for _ in range(rng.randrange(64)))
        body = bytes(body)
        try:
            got = decoders[kind](body, 0)
        except FastDecodeError:
            outcomes["handed back"] += 1
            continue
        assert got == fastavro_read(schemas[kind], body)
        outcomes["same"] += 1
    assert outcomes["same"] > 100 and outcomes["handed back"] > 1000


def test_the_worker_decoder_gives_the_same_verdicts_as_fastavro_alone() -> None:
    """EventDecoder(timestamps_as_ms=True) uses the generated decoders; a decoder without them
    (fastavro only) must accept and reject exactly the same values, with the same records."""
    rng = random.Random(7)
    fast = EventDecoder(timestamps_as_ms=True)
    slow = EventDecoder(timestamps_as_ms=True)
    slow._fast = {}  # fastavro alone: the reference
    values = [SingleObjectSerializer(raw_schema(k))(SAMPLES[k]()) for k in sorted(EVENT_KINDS)]
    verdicts = {"decoded": 0, "rejected": 0}
    for i in range(3000):
        value = bytearray(rng.choice(values))
        if i % 2 == 0:
            for _ in range(rng.randint(1, 3)):
                value[rng.randrange(10, len(value))] = rng.randrange(256)
        else:
            value = value[: rng.randrange(len(value) + 1)] + (b"\x00" if rng.random() < 0.2 else b"")
        results = []
        for decoder in (fast, slow):
            try:
                results.append(decoder.decode(bytes(value)))
            except DecodeError as exc:
                results.append(type(exc))
        assert results[0] == results[1]
        verdicts["rejected" if isinstance(results[0], type) else "decoded"] += 1
    assert verdicts["decoded"] > 100 and verdicts["rejected"] > 500
