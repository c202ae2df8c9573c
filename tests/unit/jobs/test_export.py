"""`export`: a view through the locked read path, page after page in its key order (no row twice
or missing across pages), filtered by user and time, written as JSON lines, CSV (LF) or typed
Parquet; a request it cannot serve is one line before any file is written."""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid

import pyarrow.parquet as pq
import pytest

from phospho_sinks import migrate
from phospho_stream.jobs.export import ExportError, export_view, run_export
from phospho_stream.read import store_reader
from phospho_stream.settings import ReadSettings

from tests.support.store_rows import S, task, write

T0 = 1_763_700_000_000


@pytest.fixture(scope="module")
def tag(chdb_store):
    migrate(chdb_store)
    tag = uuid.uuid4().hex[:8]
    write(chdb_store, "tasks", [task(f"{tag}-t{i:02d}", f"{tag}-{'ann' if i % 2 else 'bob'}", "c", f"{tag}-w", T0 + i * S,
                                     i, metadata='{"k":"v,\\"x\\"\\nnext"}') for i in range(23)])
    return tag


def _read(store):
    return store_reader(store)


def test_pages_in_key_order_cover_every_row_once_and_filters_hold(chdb_store, tmp_path, tag):
    path = tmp_path / "ann.jsonl"
    pages = []
    done = export_view(_read(chdb_store), "tasks", "jsonl", path, user=f"{tag}-ann", page_rows=4,
                       progress=lambda n, total: pages.append((n, total)))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert done.rows == len(rows) == 11 and {r["user_id"] for r in rows} == {f"{tag}-ann"}
    assert [r["task_id"] for r in rows] == sorted(f"{tag}-t{i:02d}" for i in range(23) if i % 2)
    assert pages == [(4, 11), (8, 11), (11, 11)]
    assert rows[0]["metadata"] == {"k": 'v,"x"\nnext'} and rows[0]["created_at"].startswith("2025-11-21")
    since = int(T0 + 20 * S)
    recent = export_view(_read(chdb_store), "phospho.tasks", "jsonl", tmp_path / "r.jsonl", since_ms=since,
                         user=f"{tag}-bob", page_rows=2)
    assert recent.rows == 2  # t20 and t22


def test_csv_has_lf_line_ends_and_json_cells_and_parquet_keeps_the_types(chdb_store, tmp_path, tag):
    export_view(_read(chdb_store), "tasks", "csv", tmp_path / "t.csv", user=f"{tag}-bob", page_rows=5)
    data = (tmp_path / "t.csv").read_bytes()
    assert b"\r\n" not in data
    rows = list(csv.DictReader((tmp_path / "t.csv").open(encoding="utf-8", newline="")))
    assert len(rows) == 12 and json.loads(rows[0]["metadata"]) == {"k": 'v,"x"\nnext'}
    assert rows[0]["output"] == "out" and rows[0]["feedback_flag"] == ""
    export_view(_read(chdb_store), "tasks", "parquet", tmp_path / "t.parquet", user=f"{tag}-bob", page_rows=5)
    table = pq.read_table(tmp_path / "t.parquet")
    assert table.num_rows == 12
    first = table.slice(0, 1).to_pylist()[0]
    assert first["created_at"] == dt.datetime.fromtimestamp(T0 / 1000, dt.UTC)
    assert first["metadata"] == [("k", 'v,"x"\nnext')] and first["total_tokens"] == 0
    assert str(table.schema.field("span_models").type.value_type) == "string"


def test_a_request_it_cannot_serve_is_refused_before_any_file(chdb_store, tmp_path, tag):
    with pytest.raises(ExportError, match="'secrets' is not a view of the phospho database"):
        export_view(_read(chdb_store), "secrets", "csv", tmp_path / "x.csv")
    existing = tmp_path / "mine.csv"
    existing.write_text("keep me")
    settings = ReadSettings(data_dir=tmp_path, dsn=chdb_store.dsn)
    with pytest.raises(ExportError, match="--user: phospho.topics holds no user's rows"):
        run_export(settings, "topics", "csv", str(existing), user="ann")
    assert existing.read_text() == "keep me"
