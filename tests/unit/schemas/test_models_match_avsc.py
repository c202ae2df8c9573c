"""The pydantic models (phospho_schemas.models) and the Avro schemas (avro/*.avsc, the wire
contract) describe the same records: same fields in the same order, matching types, same
defaults; a record built from a model is valid Avro and survives an Avro round trip."""

from __future__ import annotations

import types
import typing
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.validation import validate
from pydantic_core import PydanticUndefined

from phospho_schemas import EVENT_KINDS, raw_schema
from phospho_schemas.models import MODELS, FeedbackEvent, SpanEvent, TaskEvent

KINDS = sorted(EVENT_KINDS)
_MISSING = object()


def _is_timestamp_millis(avro_type: Any) -> bool:
    return isinstance(avro_type, dict) and avro_type.get("type") == "long" and avro_type.get("logicalType") == "timestamp-millis"


def expected_annotation(avro_type: Any) -> Any:
    """The Python type a model field must have for an Avro field type."""
    if _is_timestamp_millis(avro_type):
        return datetime
    if isinstance(avro_type, str):
        return {"string": str, "long": int, "int": int, "boolean": bool}[avro_type]
    if isinstance(avro_type, list):
        assert len(avro_type) == 2 and avro_type[0] == "null", f"only ['null', T] unions are in the contract: {avro_type}"
        return expected_annotation(avro_type[1]) | None
    if isinstance(avro_type, dict) and avro_type.get("type") == "map":
        assert avro_type["values"] in ("string", "long")
        return dict[str, str] if avro_type["values"] == "string" else dict[str, int]
    if isinstance(avro_type, dict) and avro_type.get("type") == "array":
        assert avro_type["items"] == "string"
        return list[str]
    raise AssertionError(f"Avro type outside the contract's vocabulary: {avro_type!r}")


def normalize(annotation: Any) -> Any:
    """`X | None` and `Optional[X]` compare equal; generic aliases compare by origin and args."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return ("union", frozenset(normalize(a) for a in typing.get_args(annotation)))
    if origin is not None:
        return (origin, tuple(normalize(a) for a in typing.get_args(annotation)))
    return annotation


def model_default(field: Any) -> Any:
    if field.default_factory is not None:
        return field.default_factory()
    if field.default is PydanticUndefined:
        return _MISSING
    return field.default


@pytest.mark.parametrize("kind", KINDS)
def test_same_field_names_in_the_same_order(kind: str) -> None:
    avsc = [f["name"] for f in raw_schema(kind)["fields"]]
    model = list(MODELS[kind].model_fields)
    assert model == avsc


@pytest.mark.parametrize("kind", KINDS)
def test_types_map_field_by_field(kind: str) -> None:
    fields = MODELS[kind].model_fields
    mismatches = []
    for avro_field in raw_schema(kind)["fields"]:
        name = avro_field["name"]
        want = normalize(expected_annotation(avro_field["type"]))
        got = normalize(fields[name].annotation)
        if want != got:
            mismatches.append(f"{name}: avsc {avro_field['type']!r} wants {want}, model has {fields[name].annotation!r}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("kind", KINDS)
def test_same_defaults(kind: str) -> None:
    fields = MODELS[kind].model_fields
    mismatches = []
    for avro_field in raw_schema(kind)["fields"]:
        name = avro_field["name"]
        want = avro_field.get("default", _MISSING)
        got = model_default(fields[name])
        if isinstance(avro_field["type"], list):  # ["null", T] -> Optional[T] = None
            if want is not None or got is not None:
                mismatches.append(f"{name}: nullable fields default to null/None (avsc {want!r}, model {got!r})")
            continue
        if (want is _MISSING) != (got is _MISSING) or (want is not _MISSING and (want != got or type(want) is not type(got))):
            mismatches.append(f"{name}: avsc default {want!r} != model default {got!r}")
        if want is _MISSING and fields[name].is_required() is False:
            mismatches.append(f"{name}: no default in the avsc, so the model field must be required")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("kind", KINDS)
def test_the_model_rejects_fields_outside_the_contract(kind: str) -> None:
    record = _sample(kind, full=False)
    with pytest.raises(ValueError):
        MODELS[kind].model_validate({**record, "not_in_the_avsc": "x"})


# -- records built from the models are valid Avro and round-trip ----------------------------------

_T0 = datetime(2025, 3, 14, 15, 9, 26, 535000, tzinfo=UTC)


def _value(avro_type: Any, name: str, i: int) -> Any:
    """A non-default value of an Avro field type (ms-precision aware datetimes for timestamps)."""
    if _is_timestamp_millis(avro_type):
        return _T0 + timedelta(milliseconds=1000 * i + 7)
    if isinstance(avro_type, list):
        return _value(avro_type[1], name, i)
    if avro_type == "string":
        return f"{name} value é✓ {i}"
    if avro_type in ("long", "int"):
        return 1_000 + i if avro_type == "int" else 2**40 + i
    if avro_type == "boolean":
        return True
    if avro_type.get("type") == "map":
        return {f"{name}.k{j}": f"v{j}" if avro_type["values"] == "string" else j for j in range(3)}
    if avro_type.get("type") == "array":
        return [f"{name} item {j}" for j in range(2)]
    raise AssertionError(avro_type)


def _sample(kind: str, full: bool) -> dict[str, Any]:
    """Every field set (full) or only the fields the avsc requires (no default)."""
    return {
        f["name"]: _value(f["type"], f["name"], i)
        for i, f in enumerate(raw_schema(kind)["fields"])
        if full or "default" not in f
    }


def _avro_roundtrip(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    schema = parse_schema(raw_schema(kind))
    assert validate(record, schema, raise_errors=True)
    buf = BytesIO()
    schemaless_writer(buf, schema, record)
    buf.seek(0)
    out = schemaless_reader(buf, schema, schema)
    assert buf.tell() == len(buf.getvalue())
    return out


@pytest.mark.parametrize("full", [True, False], ids=["every-field-set", "defaults-only"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_record_built_from_the_model_round_trips_through_avro(kind: str, full: bool) -> None:
    model = MODELS[kind]
    event = model(**_sample(kind, full))
    dumped = event.model_dump()
    assert list(dumped) == [f["name"] for f in raw_schema(kind)["fields"]]
    decoded = _avro_roundtrip(kind, dumped)
    assert decoded == dumped
    assert model.model_validate(decoded) == event
    if not full:  # the model filled exactly the avsc defaults
        for f in raw_schema(kind)["fields"]:
            if "default" in f:
                assert decoded[f["name"]] == f["default"], f["name"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_record_as_the_sdk_writes_it_validates_with_the_model(kind: str) -> None:
    """The SDK writes timestamp-millis as int milliseconds; what an Avro reader returns for it
    (aware datetimes) validates with the model and means the same instant."""
    record = _sample(kind, full=True)
    as_ints = {k: (int((v - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1)) if isinstance(v, datetime) else v)
               for k, v in record.items()}
    decoded = _avro_roundtrip(kind, as_ints)
    event = MODELS[kind].model_validate(decoded)
    for name, value in record.items():
        assert getattr(event, name) == value, name


def test_the_three_models_are_the_three_kinds() -> None:
    assert set(MODELS) == set(EVENT_KINDS) == {"task", "span", "feedback"}
    assert (MODELS["task"], MODELS["span"], MODELS["feedback"]) == (TaskEvent, SpanEvent, FeedbackEvent)
    for kind, model in MODELS.items():
        assert raw_schema(kind)["name"] == model.__name__
