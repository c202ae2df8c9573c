"""The files `phospho-stream export` writes, page by page: JSON lines, CSV (LF line ends) and
Parquet (pyarrow, typed from the view's ClickHouse types)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = ["FORMATS", "PageWriter", "open_writer", "arrow_type"]

FORMATS = ("parquet", "csv", "jsonl")


class PageWriter(Protocol):
    def write(self, rows: Sequence[Sequence[Any]]) -> None: ...

    def close(self) -> None: ...


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class _JsonLines:
    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self._file = path.open("w", encoding="utf-8", newline="\n")
        self._columns = list(columns)

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        self._file.writelines(_json_text(dict(zip(self._columns, row, strict=True))) + "\n" for row in rows)

    def close(self) -> None:
        self._file.close()


class _Csv:
    """A header, then one line per row; NULL is an empty cell, lists and maps are JSON text."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self._file = path.open("w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._file, lineterminator="\n")
        self._csv.writerow(columns)

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        self._csv.writerows([["" if v is None else _json_text(v) if isinstance(v, dict | list) else v for v in row]
                             for row in rows])

    def close(self) -> None:
        self._file.close()


def _arguments(text: str) -> list[str]:
    """The top-level arguments of a type's parentheses: 'String, Map(String, UInt32)' -> 2."""
    out, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return out


def arrow_type(ch_type: str) -> tuple[Any, Callable[[Any], Any]]:
    """A ClickHouse type as (pyarrow type, converter of the value the read side returns)."""
    import pyarrow as pa

    name, _, rest = ch_type.partition("(")
    inner = rest[:-1] if rest.endswith(")") else ""
    if name in ("Nullable", "LowCardinality", "SimpleAggregateFunction"):
        return arrow_type(_arguments(inner)[-1])
    if name in ("String", "FixedString", "UUID", "Enum8", "Enum16"):
        return pa.string(), str
    if name in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32"):
        return pa.int64(), int
    if name == "UInt64":
        return pa.uint64(), int
    if name in ("Float32", "Float64"):
        return pa.float64(), float
    if name == "Bool":
        return pa.bool_(), bool
    if name in ("DateTime", "DateTime64"):
        unit = "ms" if name == "DateTime64" else "s"
        return pa.timestamp(unit, tz="UTC"), lambda v: dt.datetime.fromisoformat(v).replace(tzinfo=dt.UTC)
    if name == "Date":
        return pa.date32(), dt.date.fromisoformat
    if name == "Array":
        item, convert = arrow_type(inner)
        return pa.list_(item), lambda v: [None if x is None else convert(x) for x in v]
    if name == "Map":
        (key, key_convert), (value, value_convert) = (arrow_type(t) for t in _arguments(inner))
        return pa.map_(key, value), lambda v: [(key_convert(k), None if x is None else value_convert(x))
                                               for k, x in v.items()]
    return pa.string(), _json_text


class _Parquet:
    """Typed columns (the view's ClickHouse types); one row group per page."""

    def __init__(self, path: Path, columns: Sequence[str], types: Sequence[str]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        typed = [arrow_type(t) for t in types]
        self._schema = pa.schema([pa.field(c, t) for c, (t, _) in zip(columns, typed, strict=True)])
        self._convert = [convert for _, convert in typed]
        self._writer = pq.ParquetWriter(str(path), self._schema, compression="zstd")

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        import pyarrow as pa

        if not rows:
            return
        arrays = [pa.array([None if row[i] is None else convert(row[i]) for row in rows], type=field.type)
                  for i, (field, convert) in enumerate(zip(self._schema, self._convert, strict=True))]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))

    def close(self) -> None:
        self._writer.close()


def open_writer(fmt: str, path: Path, columns: Sequence[str], types: Sequence[str]) -> PageWriter:
    if fmt == "jsonl":
        return _JsonLines(path, columns)
    if fmt == "csv":
        return _Csv(path, columns)
    if fmt == "parquet":
        return _Parquet(path, columns, types)
    raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
