"""A schema-specialised Avro binary decoder, generated once per schema: the reading side of
`fast_encoder.py`.

fastavro's reader walks the schema for every record (~13 us for a 27-field task event here);
this module turns a record schema into straight-line Python for exactly that schema. It covers
the types the wire contract uses (string, long/int, boolean, ["null", T] unions, maps of strings or
longs, arrays of strings) and reads timestamps as the integers on the wire. It only reads a body
written with the very schema it was generated for (no schema resolution).

It is a fast path, not a judge: on anything unexpected (truncated input, a bad union index, a
boolean byte other than 0 or 1, a negative length, an overlong varint, invalid UTF-8) it raises
`FastDecodeError`, and the caller decodes the same bytes with fastavro, which accepts or rejects
them as before. A record it returns equals what fastavro returns for the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["compile_decoder", "FastDecodeError"]

#: a decoder: (data, start offset) -> (record, offset after the record)
Decoder = Callable[[bytes, int], tuple[dict[str, Any], int]]


class FastDecodeError(Exception):
    """The generated decoder cannot read these bytes: let fastavro decide."""


def _long_lines(target: str, indent: str, bits: int = 64) -> list[str]:
    """Read a zigzag varint into `target`; one that does not fit in `bits` is not ours to read
    (fastavro wraps it to 64 bits)."""
    return [
        f"{indent}c = d[p]; p += 1",
        f"{indent}if c < 128:",
        f"{indent}    {target} = (c >> 1) ^ -(c & 1)",
        f"{indent}else:",
        f"{indent}    z = c & 127; s = 7",
        f"{indent}    while c >= 128:",
        f"{indent}        if s > 63: raise _Bad",
        f"{indent}        c = d[p]; p += 1; z |= (c & 127) << s; s += 7",
        f"{indent}    if z >> {bits}: raise _Bad",
        f"{indent}    {target} = (z >> 1) ^ -(z & 1)",
    ]


def _str_lines(target: str, indent: str) -> list[str]:
    return [
        *_long_lines("n", indent),
        f"{indent}e = p + n",
        f"{indent}if n < 0 or e > size: raise _Bad",
        f"{indent}{target} = d[p:e].decode(); p = e",
    ]


def _block_lines(indent: str, item: list[str]) -> list[str]:
    """Avro blocks (arrays and maps): counts until a 0; a negative count is followed by the
    block's size in bytes, which is skipped."""
    return [
        *_long_lines("k", indent),
        f"{indent}while k:",
        f"{indent}    if k < 0:",
        f"{indent}        k = -k",
        *_long_lines("_", indent + "        "),
        f"{indent}    for _ in range(k):",
        *item,
        *_long_lines("k", indent + "    "),
    ]


def _value_lines(schema: Any, target: str, indent: str) -> list[str] | None:
    if isinstance(schema, dict) and schema.get("type") in ("string", "long", "int", "boolean"):
        if set(schema) - {"type", "doc"}:  # a logical type: not read here
            return None
        schema = schema["type"]
    if schema == "string":
        return _str_lines(target, indent)
    if schema in ("long", "int"):
        return _long_lines(target, indent, 64 if schema == "long" else 32)
    if schema == "boolean":
        return [f"{indent}c = d[p]; p += 1", f"{indent}if c > 1: raise _Bad", f"{indent}{target} = c == 1"]
    if isinstance(schema, list):
        if len(schema) == 2 and schema[0] == "null":
            inner = _value_lines(schema[1], target, indent + "    ")
            if inner is None:
                return None
            return [f"{indent}c = d[p]; p += 1", f"{indent}if c == 0:", f"{indent}    {target} = None",
                    f"{indent}elif c == 2:", *inner, f"{indent}else:", f"{indent}    raise _Bad"]
        return None
    if isinstance(schema, dict) and schema.get("type") == "map" and schema.get("values") in ("string", "long"):
        value = (_str_lines("mv", indent + "        ") if schema["values"] == "string"
                 else _long_lines("mv", indent + "        "))
        item = [*_str_lines("mk", indent + "        "), *value, f"{indent}        m[mk] = mv"]
        return [f"{indent}m = {target} = {{}}", *_block_lines(indent, item)]
    if isinstance(schema, dict) and schema.get("type") == "array" and schema.get("items") == "string":
        item = [*_str_lines("av", indent + "        "), f"{indent}        l.append(av)"]
        return [f"{indent}l = {target} = []", *_block_lines(indent, item)]
    return None


def compile_decoder(schema: dict[str, Any]) -> Decoder | None:
    """A function (data, offset) -> (record, end offset) for bodies written with `schema`, or
    None when the schema uses a type this generator does not cover. The function raises
    FastDecodeError for bytes it cannot read."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return None
    lines = ["def decode(d, p):", "    size = len(d)", "    try:"]
    names = []
    for i, field in enumerate(schema["fields"]):
        body = _value_lines(field["type"], f"v{i}", "        ")
        if body is None:
            return None
        lines += body
        names.append(field["name"])
    lines += ["    except (IndexError, UnicodeDecodeError):", "        raise _Bad from None",
              "    return {" + ", ".join(f"{n!r}: v{i}" for i, n in enumerate(names)) + "}, p"]
    namespace: dict[str, Any] = {"_Bad": FastDecodeError}
    exec(compile("\n".join(lines), f"<avro decoder {schema.get('name')}>", "exec"), namespace)
    return namespace["decode"]
