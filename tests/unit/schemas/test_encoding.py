"""Avro single-object encoding (phospho_schemas.single_object) against the Avro specification,
decoding with EventDecoder, schema evolution, and what the decoder does with bad bytes."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from phospho_schemas import (
    EVENT_KINDS,
    MAGIC,
    DecodeError,
    EventDecoder,
    SchemaError,
    SingleObjectSerializer,
    UnknownSchemaError,
    parsed_schema,
    raw_schema,
    schema_fingerprint,
)
from phospho_schemas.models import MODELS

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- CRC-64-AVRO, written from the Avro specification ("Schema Fingerprints") ---------------------

_EMPTY = 0xC15D213AA4D7A795


def _table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY & -(fp & 1))
        table.append(fp)
    return table


_FP_TABLE = _table()


def crc64_avro(data: bytes) -> int:
    fp = _EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _FP_TABLE[(fp ^ byte) & 0xFF]
    return fp


def spec_fingerprint(schema: Any) -> bytes:
    """The 8 bytes single-object encoding puts on the wire: CRC-64-AVRO of the parsing
    canonical form, little-endian."""
    return crc64_avro(to_parsing_canonical_form(schema).encode("utf-8")).to_bytes(8, "little")


# -- sample records as the SDK builds them (timestamps as int milliseconds) -----------------------

def task_record(**overrides: Any) -> dict[str, Any]:
    record = {
        "event_id": "0" * 31 + "1", "project_id": "proj", "task_id": "task_1", "session_id": "sess_1",
        "session_id_generated": False, "user_id": "user-é", "version_id": "v1",
        "created_at": 1_700_000_000_123, "client_created_at": 1_700_000_000_456, "last_update": None,
        "sent_at": 1_700_000_001_000, "input": "Bonjour ✓", "output": "Salut", "system_prompt": None,
        "model": "gpt-4o-mini", "prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15,
        "cached_tokens": 8, "raw_input": '{"messages":[]}', "raw_input_type_name": "dict", "raw_output": '"Salut"',
        "raw_output_type_name": "str", "metadata": {"a.b": "1"}, "metadata_json": '{"a":{"b":1}}',
        "stream": True, "errors": ["one coercion"], "redactions": {"email": 2, "employee_id": 1},
        "sdk_version": "9.9.9",
    }
    record.update(overrides)
    return record


def feedback_record() -> dict[str, Any]:
    return {
        "event_id": "f" * 32, "project_id": "proj", "task_id": "task_1", "session_id": None,
        "user_id": None, "flag": "success", "raw_flag": "👍", "notes": "great", "source": "user",
        "created_at": 1_700_000_000_000, "sent_at": 1_700_000_000_500, "errors": [], "redactions": {},
        "sdk_version": "1",
    }


def span_record() -> dict[str, Any]:
    return {
        "event_id": "e" * 32, "project_id": "proj", "trace_id": "a" * 32, "span_id": "b" * 16,
        "parent_span_id": None, "name": "chat gpt-4o", "kind": "CLIENT", "task_id": "task_1",
        "session_id": "sess_1", "user_id": None, "link_method": "context", "step_index": 2,
        "start_time": 1_700_000_000_000, "end_time": 1_700_000_000_250, "duration_us": 250_123,
        "status_code": "OK", "status_message": None, "operation": "chat", "provider": "openai",
        "request_model": "gpt-4o", "response_model": "gpt-4o-2024", "input_tokens": 10, "output_tokens": 20,
        "cached_input_tokens": 6, "input_text": "hi", "output_text": "hello", "attributes": {"gen_ai.system": "openai"},
        "attributes_json": '{"gen_ai.system":"openai"}', "sent_at": 1_700_000_000_300, "errors": [],
        "redactions": {"phone": 1}, "sdk_version": "1",
    }


SAMPLES = {"task": task_record, "feedback": feedback_record, "span": span_record}


def as_written(kind: str, decoded: dict[str, Any]) -> dict[str, Any]:
    """A decoded record with its timestamp-millis datetimes back to int milliseconds."""
    return {k: (v - EPOCH) // timedelta(milliseconds=1) if isinstance(v, datetime) else v for k, v in decoded.items()}


def avro_body(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    buf = BytesIO()
    schemaless_writer(buf, parse_schema(schema), record)
    return buf.getvalue()


# -- the encoding follows the spec ----------------------------------------------------------------

def test_known_vector_fingerprint_of_int() -> None:
    # Avro specification, single-object encoding: the header of schema "int" is
    # C3 01 8F 5C 39 3F 1A D5 75 72
    assert crc64_avro(b'"int"').to_bytes(8, "little").hex() == "8f5c393f1ad57572"
    assert schema_fingerprint("int").hex() == "8f5c393f1ad57572"
    assert bytes.fromhex(fingerprint(to_parsing_canonical_form("int"), "CRC-64-AVRO")).hex() == "8f5c393f1ad57572"
    assert MAGIC == b"\xc3\x01"


def test_more_spec_vectors_and_little_endian() -> None:
    # fingerprint(canonical form) from the spec's algorithm, for schemas of every shape
    for schema in ["long", "string", {"type": "array", "items": "string"},
                   {"type": "map", "values": "long"}, ["null", "string"],
                   {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int", "default": 3, "doc": "x"}]}]:
        fp = schema_fingerprint(schema)
        assert fp == spec_fingerprint(schema), schema
        assert fp != crc64_avro(to_parsing_canonical_form(schema).encode()).to_bytes(8, "big"), "must be little-endian"


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_single_object_layout(kind: str) -> None:
    serializer = SingleObjectSerializer(raw_schema(kind))
    record = SAMPLES[kind]()
    value = serializer(record, None)
    expected_fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(raw_schema(kind)), "CRC-64-AVRO"))
    assert value[:2] == b"\xc3\x01"
    assert value[2:10] == expected_fp == spec_fingerprint(raw_schema(kind)) == serializer.fingerprint
    assert value[10:] == avro_body(raw_schema(kind), record)
    # doc strings and attribute order are not part of the canonical form: same fingerprint
    stripped = copy.deepcopy(raw_schema(kind))
    stripped.pop("doc", None)
    for f in stripped["fields"]:
        f.pop("doc", None)
    assert schema_fingerprint(stripped) == expected_fp


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_event_decoder_decodes_single_object(kind: str) -> None:
    record = SAMPLES[kind]()
    value = SingleObjectSerializer(raw_schema(kind))(record)
    decoded_kind, decoded = EventDecoder().decode(value)
    assert decoded_kind == kind
    assert as_written(kind, decoded) == record
    assert MODELS[kind].model_validate(decoded).model_dump() == decoded
    assert EventDecoder().decode(value, expected_kind=kind)[0] == kind


def test_expected_kind_mismatch_is_a_decode_error() -> None:
    value = SingleObjectSerializer(raw_schema("task"))(task_record())
    with pytest.raises(DecodeError):
        EventDecoder().decode(value, expected_kind="feedback")


def test_decoder_accepts_bytearray_and_memoryview_like_values() -> None:
    value = SingleObjectSerializer(raw_schema("task"))(task_record())
    assert EventDecoder().decode(bytearray(value))[1]["task_id"] == "task_1"


# -- schema evolution -----------------------------------------------------------------------------

def _without(kind: str, *names: str) -> dict[str, Any]:
    schema = copy.deepcopy(raw_schema(kind))
    schema["fields"] = [f for f in schema["fields"] if f["name"] not in names]
    return schema


@pytest.mark.parametrize("dropped", [("stream",), ("sdk_version",), ("stream", "sdk_version", "metadata", "last_update")])
def test_older_writer_schema_is_resolved_with_defaults(dropped: tuple[str, ...]) -> None:
    old = _without("task", *dropped)
    record = {k: v for k, v in task_record().items() if k not in dropped}
    value = SingleObjectSerializer(old)(record)
    assert value[2:10] == spec_fingerprint(old) != schema_fingerprint(raw_schema("task"))

    decoder = EventDecoder()
    with pytest.raises(UnknownSchemaError):  # not known until registered
        decoder.decode(value)
    assert decoder.add_schema(old) == spec_fingerprint(old)

    kind, decoded = decoder.decode(value)
    assert kind == "task"
    defaults = {f["name"]: f["default"] for f in raw_schema("task")["fields"] if f["name"] in dropped}
    assert set(decoded) == {f["name"] for f in raw_schema("task")["fields"]}  # the reader's fields
    for name in dropped:
        assert decoded[name] == defaults[name], name
    assert {k: v for k, v in as_written("task", decoded).items() if k not in dropped} == record
    assert MODELS["task"].model_validate(decoded).stream is (False if "stream" in dropped else True)


def test_newer_writer_schema_with_an_extra_field_is_read_without_it() -> None:
    newer = copy.deepcopy(raw_schema("task"))
    newer["fields"].append({"name": "tenant", "type": "string", "default": ""})
    record = {**task_record(), "tenant": "acme"}
    value = SingleObjectSerializer(newer)(record)
    decoder = EventDecoder()
    decoder.add_schema(newer)
    kind, decoded = decoder.decode(value)
    assert kind == "task" and "tenant" not in decoded
    assert as_written("task", decoded) == task_record()


def test_add_schema_rejects_a_foreign_record() -> None:
    with pytest.raises(ValueError):
        EventDecoder().add_schema({"type": "record", "name": "Other", "namespace": "x", "fields": []})


# -- bad bytes --------------------------------------------------------------------------------

def _task_value() -> bytes:
    return SingleObjectSerializer(raw_schema("task"))(task_record())


BAD_VALUES = {
    "empty": b"",
    "none": None,
    "garbage text": b"hello, this is not avro",
    "json": b'{"task_id": "x"}',
    "one byte": b"\xc3",
    "marker only": b"\xc3\x01",
    "marker and part of a fingerprint": b"\xc3\x01\x8f\x5c\x39",
    "header without body": b"\xc3\x01" + schema_fingerprint(raw_schema("task")),
    "truncated body": _task_value()[:-3],
    "half a body": _task_value()[: len(_task_value()) // 2],
    "trailing bytes": _task_value() + b"\x00",
    "two events glued together": _task_value() + _task_value(),
    "unknown fingerprint": b"\xc3\x01" + b"\x01\x02\x03\x04\x05\x06\x07\x08" + _task_value()[10:],
    "fingerprint of another kind": b"\xc3\x01" + schema_fingerprint(raw_schema("feedback")) + _task_value()[10:],
    "confluent frame without registry": b"\x00\x00\x00\x00\x01" + _task_value()[10:],
    "confluent magic only": b"\x00\x00\x00\x00\x01",
    "zero bytes": b"\x00" * 40,
    "ff bytes": b"\xff" * 40,
}


@pytest.mark.parametrize("name", list(BAD_VALUES))
def test_bad_values_raise_schema_errors(name: str) -> None:
    with pytest.raises(SchemaError) as info:
        EventDecoder().decode(BAD_VALUES[name])
    assert isinstance(info.value, DecodeError)  # DecodeError or its subclass UnknownSchemaError


def test_error_classes() -> None:
    assert issubclass(DecodeError, SchemaError) and issubclass(DecodeError, ValueError)
    assert issubclass(UnknownSchemaError, DecodeError)
    with pytest.raises(UnknownSchemaError):
        EventDecoder().decode(BAD_VALUES["unknown fingerprint"])
    with pytest.raises(UnknownSchemaError):
        EventDecoder().decode(BAD_VALUES["confluent frame without registry"])


def test_random_corruption_only_ever_raises_schema_errors() -> None:
    """Fuzz: flipped bytes, cut values and random bytes either decode to a record or raise a
    SchemaError; never another exception type."""
    rng = random.Random(1234)
    decoder = EventDecoder()
    values = [SingleObjectSerializer(raw_schema(k))(SAMPLES[k]()) for k in sorted(EVENT_KINDS)]
    outcomes = {"decoded": 0, "rejected": 0}
    for i in range(3000):
        value = bytearray(rng.choice(values))
        mode = i % 4
        if mode == 0:  # flip a few bytes of the body
            for _ in range(rng.randint(1, 4)):
                pos = rng.randrange(10, len(value))
                value[pos] = rng.randrange(256)
        elif mode == 1:  # cut anywhere
            value = value[: rng.randrange(0, len(value))]
        elif mode == 2:  # random bytes after a valid header
            value = value[:10] + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
        else:  # random bytes
            value = bytearray(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64))))
        try:
            kind, record = decoder.decode(bytes(value))
        except SchemaError:
            outcomes["rejected"] += 1
        else:
            assert kind in EVENT_KINDS and isinstance(record, dict)
            outcomes["decoded"] += 1
    assert outcomes["rejected"] > 1000


def test_parsed_schema_is_what_the_serializer_writes() -> None:
    record = task_record()
    assert SingleObjectSerializer(raw_schema("task"))(record)[10:] == avro_body(parsed_schema("task"), record)


@pytest.mark.parametrize("field,value", [
    ("prompt_tokens", 2**63), ("prompt_tokens", 2**64), ("prompt_tokens", 2**70), ("prompt_tokens", -(2**63) - 1),
    ("created_at", 2**64 + 5),
], ids=lambda v: str(v))
def test_out_of_range_longs_are_rejected_not_wrapped(field: str, value: int) -> None:
    """Avro longs are 64-bit: a value outside that range must be refused (fastavro raises
    ValueError), never written as another number."""
    record = task_record(**{field: value})
    with pytest.raises((ValueError, OverflowError)):
        avro_body(raw_schema("task"), record)  # the reference behaviour
    try:
        encoded = SingleObjectSerializer(raw_schema("task"))(record)
    except (ValueError, OverflowError):
        return
    try:
        decoded = EventDecoder().decode(encoded)[1][field]
    except DecodeError:
        decoded = "<undecodable>"
    if isinstance(decoded, datetime):
        decoded = (decoded - EPOCH) // timedelta(milliseconds=1)
    pytest.fail(f"{field}={value} was encoded without error and decodes as {decoded!r}")


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**40])
def test_out_of_range_ints_are_rejected(value: int) -> None:
    """Avro ints are 32-bit (span step_index): fastavro refuses a larger value; so must the
    serializer, or Java readers of the topic fail on it."""
    record = span_record()
    record["step_index"] = value
    with pytest.raises((ValueError, OverflowError)):
        avro_body(raw_schema("span"), record)
    with pytest.raises((ValueError, OverflowError)):
        SingleObjectSerializer(raw_schema("span"))(record)


EDGE_STRINGS = ["", "a", "é", "✓" * 100, "🙂🚀", "x" * 20_000, "\x00nul", "line\nbreak", "日本語"]


def edge_record(kind: str, rng: random.Random) -> dict[str, Any]:
    """A record of `kind` with edge strings, longs, empty and large maps and arrays, and nulls
    in nullable fields, drawn by `rng`."""
    record = SAMPLES[kind]()
    for f in raw_schema(kind)["fields"]:
        t = f["type"]
        nullable = isinstance(t, list)
        base = t[1] if nullable else t
        if nullable and rng.random() < 0.3:
            record[f["name"]] = None
        elif base == "string":
            record[f["name"]] = rng.choice(EDGE_STRINGS)
        elif base in ("long", "int") or (isinstance(base, dict) and base.get("type") == "long"):
            bound = 2**31 if base == "int" else 2**63
            record[f["name"]] = rng.choice([0, -1, 1, 63, 64, -64, -65, 127, 128, bound - 1, -bound, rng.randrange(-bound, bound)])
        elif base == "boolean":
            record[f["name"]] = rng.random() < 0.5
        elif isinstance(base, dict) and base.get("type") == "map":
            values = (lambda: rng.choice(EDGE_STRINGS)) if base["values"] == "string" else (
                lambda: rng.choice([0, 1, 64, -65, 2**63 - 1, -2**63]))
            record[f["name"]] = {rng.choice(EDGE_STRINGS) + str(i): values() for i in range(rng.choice([0, 1, 5, 300]))}
        elif isinstance(base, dict) and base.get("type") == "array":
            record[f["name"]] = [rng.choice(EDGE_STRINGS) for _ in range(rng.choice([0, 1, 5, 300]))]
    return record


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_serializer_matches_fastavro_on_edge_values(kind: str) -> None:
    """Byte-for-byte the same body as fastavro for edge strings, longs, empty and large maps
    and arrays, and nulls in every nullable field."""
    rng = random.Random(kind)
    schema = raw_schema(kind)
    serializer = SingleObjectSerializer(schema)
    for round_ in range(200):
        record = edge_record(kind, rng)
        assert serializer(record)[10:] == avro_body(schema, record), (kind, round_)


def test_timestamps_as_ms_reads_the_wire_integers_for_current_and_older_writers() -> None:
    record = task_record()
    plain, ms = EventDecoder(), EventDecoder(timestamps_as_ms=True)
    kind, decoded = ms.decode(SingleObjectSerializer(raw_schema("task"))(record))
    assert kind == "task" and decoded == record  # exactly what was written, timestamps included
    assert as_written("task", plain.decode(SingleObjectSerializer(raw_schema("task"))(record))[1]) == decoded
    old = _without("task", "stream")
    ms.add_schema(old)
    _, resolved = ms.decode(SingleObjectSerializer(old)({k: v for k, v in record.items() if k != "stream"}))
    assert resolved == {**record, "stream": False}
    assert isinstance(resolved["created_at"], int) and resolved["last_update"] is None


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_events_of_the_schema_before_redactions_decode_with_no_counts(kind: str) -> None:
    """An SDK older than the `redactions` field writes with the schema kept in avro/history:
    its events decode (the writer found by fingerprint) with empty counts."""
    from phospho_schemas.catalog import historical_schemas

    current = {f["name"] for f in raw_schema(kind)["fields"]}
    [old] = [s for s in historical_schemas() if s["name"] == raw_schema(kind)["name"]
             and {f["name"] for f in s["fields"]} == current - {"redactions"}]
    record = {k: v for k, v in SAMPLES[kind]().items() if k != "redactions"}
    value = SingleObjectSerializer(old)(record)
    for decoder in (EventDecoder(), EventDecoder(timestamps_as_ms=True)):
        decoded_kind, decoded = decoder.decode(value)
        assert decoded_kind == kind and decoded["redactions"] == {}
        assert {k: v for k, v in as_written(kind, decoded).items() if k != "redactions"} == record
