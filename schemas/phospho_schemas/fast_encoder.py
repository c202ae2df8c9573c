"""A schema-specialised Avro binary encoder, generated once per schema.

fastavro walks the schema for every record (~12 us for a 27-field task event here); this
module turns a record schema into straight-line Python for exactly that schema (~4 us). It
covers the types the wire contract uses (string, long/int incl. timestamp-millis, boolean,
["null", T] unions, maps of strings or longs, arrays of strings). A value it cannot handle (a wrong type, a
missing field, a datetime for a timestamp) raises _Fallback, and the caller uses fastavro,
which applies defaults, validates and produces the same bytes. Lone surrogates raise
UnicodeEncodeError, as with fastavro.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["compile_encoder", "zigzag_varint"]

_SMALL = [bytes([(i << 1) if i >= 0 else ((-i << 1) - 1)]) for i in range(-64, 64)]


_MEMO: dict[int, bytes] = {}  # timestamps repeat within a record and a batch


def zigzag_varint(n: int) -> bytes:
    """Avro's encoding of an int/long: zigzag, then base-128 varint."""
    if -64 <= n < 64:
        return _SMALL[n + 64]
    memo = _MEMO.get(n)
    if memo is not None:
        return memo
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    if len(_MEMO) > 4096:
        _MEMO.clear()
    memo = _MEMO[n] = bytes(out)
    return memo


_LEN = [zigzag_varint(i) for i in range(16384)]


class _Fallback(Exception):
    """The record holds something the generated encoder does not handle."""


def _str_lines(expr: str, indent: str) -> list[str]:
    return [
        f"{indent}_b = {expr}.encode()" ,
        f"{indent}_n = len(_b)",
        f"{indent}a(_LEN[_n] if _n < 16384 else _zz(_n))",
        f"{indent}a(_b)",
    ]


def _value_lines(schema: Any, expr: str, indent: str) -> list[str] | None:
    kind = schema if isinstance(schema, str) else (schema.get("type") if isinstance(schema, dict) else None)
    if isinstance(schema, dict) and "logicalType" in schema and schema["logicalType"] != "timestamp-millis":
        return None
    if kind == "string":
        return [f"{indent}if type({expr}) is not str: raise _Fallback", *_str_lines(expr, indent)]
    if kind in ("long", "int"):
        bits = 63 if kind == "long" else 31
        lo, hi = -(1 << bits), (1 << bits) - 1
        return [  # out of range: fastavro raises, as the spec wants (no silent wrapping)
            f"{indent}if type({expr}) is not int or not {lo} <= {expr} <= {hi}: raise _Fallback",
            f"{indent}a(_zz({expr}))",
        ]
    if kind == "boolean":
        return [f"{indent}if type({expr}) is not bool: raise _Fallback", f"{indent}a(_TRUE if {expr} else _FALSE)"]
    if isinstance(schema, list):
        if len(schema) == 2 and schema[0] == "null":
            inner = _value_lines(schema[1], expr, indent + "    ")
            if inner is None:
                return None
            return [f"{indent}if {expr} is None:", f"{indent}    a(_FALSE)", f"{indent}else:", f"{indent}    a(_ONE)", *inner]
        return None
    if kind == "map" and schema.get("values") in ("string", "long"):
        if schema["values"] == "string":
            check, value = "type(_v) is not str", _str_lines("_v", indent + "        ")
        else:
            check, value = "type(_v) is not int or not -(1 << 63) <= _v < (1 << 63)", [f"{indent}        a(_zz(_v))"]
        return [
            f"{indent}_m = {expr}",
            f"{indent}if type(_m) is not dict: raise _Fallback",
            f"{indent}if _m:",
            f"{indent}    a(_zz(len(_m)))",
            f"{indent}    for _k, _v in _m.items():",
            f"{indent}        if type(_k) is not str or {check}: raise _Fallback",
            *_str_lines("_k", indent + "        "),
            *value,
            f"{indent}a(_FALSE)",
        ]
    if kind == "array" and schema.get("items") == "string":
        return [
            f"{indent}_l = {expr}",
            f"{indent}if type(_l) is not list: raise _Fallback",
            f"{indent}if _l:",
            f"{indent}    a(_zz(len(_l)))",
            f"{indent}    for _v in _l:",
            f"{indent}        if type(_v) is not str: raise _Fallback",
            *_str_lines("_v", indent + "        "),
            f"{indent}a(_FALSE)",
        ]
    return None


def compile_encoder(schema: dict[str, Any]) -> Callable[[dict[str, Any]], list[bytes]] | None:
    """A function record -> list of byte chunks (join them), or None when the schema uses a
    type this generator does not cover. The function raises _Fallback for records it cannot
    encode exactly."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return None
    lines = ["def encode(r, parts):", "    a = parts.append"]
    for i, field in enumerate(schema["fields"]):
        lines.append(f"    f{i} = r[{field['name']!r}]")
        body = _value_lines(field["type"], f"f{i}", "    ")
        if body is None:
            return None
        lines += body
    lines.append("    return parts")
    namespace: dict[str, Any] = {
        "_zz": zigzag_varint, "_LEN": _LEN, "_Fallback": _Fallback,
        "_TRUE": b"\x01", "_FALSE": b"\x00", "_ONE": b"\x02",
    }
    try:
        exec(compile("\n".join(lines), f"<avro encoder {schema.get('name')}>", "exec"), namespace)
    except KeyError as exc:  # a field without a name: not a schema we handle
        raise ValueError(f"bad schema: {exc}") from exc
    return namespace["encode"]
