"""`phospho-stream query` against a chDB directory, in a child process (one chDB path per
process): formats, bound parameters, the read-only guard."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "phospho-stream"


@pytest.fixture(scope="module")
def chdb_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("query-chdb")
    setup = """
import sys
from phospho_sinks import connect
s = connect(sys.argv[1])
s.command("CREATE DATABASE IF NOT EXISTS phospho")
s.command("CREATE TABLE IF NOT EXISTS phospho.notes (id UInt32, text String, tags Map(String, String)) ENGINE = MergeTree ORDER BY id")
from phospho_sinks import json_lines
s.insert_json("phospho.notes", json_lines([{"id": 1, "text": "hello, world", "tags": {"a": "b"}}, {"id": 2, "text": "x" * 100, "tags": {}}]))
"""
    subprocess.run([sys.executable, "-c", setup, f"chdb://{path}"], check=True, timeout=120)
    return path


def query(dsn_dir, *args, env=None):
    return subprocess.run([str(CLI), "query", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PHOSPHO_CLICKHOUSE_DSN": f"chdb://{dsn_dir}", **(env or {})})


def test_table_csv_and_json(chdb_dir):
    table = query(chdb_dir, "SELECT id, text FROM phospho.notes ORDER BY id")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split("|")[0].strip() == "id" and "hello, world" in lines[2] and lines[-1] == "(2 rows)"
    assert "…" in lines[3]  # long cells are cut in the table view only
    as_csv = query(chdb_dir, "SELECT id, text FROM phospho.notes ORDER BY id", "--format", "csv")
    assert list(csv.reader(io.StringIO(as_csv.stdout))) == [["id", "text"], ["1", "hello, world"], ["2", "x" * 100]]
    as_json = query(chdb_dir, "SELECT id, tags FROM phospho.notes ORDER BY id", "--format", "json")
    assert json.loads(as_json.stdout) == [{"id": 1, "tags": {"a": "b"}}, {"id": 2, "tags": {}}]


def test_parameters_are_bound(chdb_dir):
    done = query(chdb_dir, "SELECT count() AS n FROM phospho.notes WHERE text = {t:String}", "--param",
                 "t=hello, world", "--format", "json")
    assert json.loads(done.stdout) == [{"n": 1}]
    sneaky = query(chdb_dir, "SELECT count() AS n FROM phospho.notes WHERE text = {t:String}", "--param",
                   "t=' OR 1=1 --", "--format", "json")
    assert json.loads(sneaky.stdout) == [{"n": 0}]


def test_writes_are_refused_and_nothing_changes(chdb_dir):
    done = query(chdb_dir, "DROP TABLE phospho.notes")
    assert done.returncode == 1 and "not allowed on the read-only path" in done.stderr
    assert json.loads(query(chdb_dir, "SELECT count() AS n FROM phospho.notes", "--format", "json").stdout) == [{"n": 2}]


def test_a_bad_statement_says_why(chdb_dir):
    done = query(chdb_dir, "SELECT * FROM phospho.nope")
    assert done.returncode == 1 and "phospho-stream query:" in done.stderr
