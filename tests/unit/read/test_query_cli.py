"""`phospho-stream query` and `insights` against a chDB directory, in child processes (one chDB
path per process): formats, bound parameters, the locked path, ClickHouse's own message for bad
SQL, and never a store created where there was none."""

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
from phospho_sinks import connect, migrate
s = connect(sys.argv[1])
migrate(s)
s.command("CREATE TABLE IF NOT EXISTS phospho.notes (id UInt32, text String, tags Map(String, String)) ENGINE = MergeTree ORDER BY id")
from phospho_sinks import json_lines
s.insert_json("phospho.notes", json_lines([{"id": 1, "text": "hello, world", "tags": {"a": "b"}}, {"id": 2, "text": "x" * 100, "tags": {}}]))
"""
    subprocess.run([sys.executable, "-c", setup, f"chdb://{path}"], check=True, timeout=120)
    return path


def run(*args, env):
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=120, env=env)


def query(dsn_dir, *args, env=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PHOSPHO_")}
    return run("query", *args, env={**environment, "PHOSPHO_CLICKHOUSE_DSN": f"chdb://{dsn_dir}", **(env or {})})


def test_table_csv_and_json(chdb_dir):
    table = query(chdb_dir, "SELECT id, text FROM phospho.notes ORDER BY id")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["id", "text"] and lines[2].split(None, 1) == ["1", "hello, world"]
    assert lines[-1] == "(2 rows)"
    assert lines[3].endswith("…") and len(lines[3].split()[1]) == 60  # long cells are cut in the table view only
    as_csv = query(chdb_dir, "SELECT id, text FROM notes ORDER BY id", "--format", "csv")
    assert "\r" not in as_csv.stdout
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


@pytest.mark.parametrize(("sql", "named"), [
    ("DROP TABLE phospho.notes", "refused: DROP"),
    ("SELECT '--'; DROP TABLE phospho.notes", "refused: 2 statements (SELECT, DROP)"),
    ("SELECT * FROM file('/etc/passwd', 'LineAsString')", "refused: the table function file()"),
    ("SELECT name FROM system.tables", "refused: system.tables"),
])
def test_attacks_are_refused_in_one_line_and_nothing_changes(chdb_dir, sql, named):
    done = query(chdb_dir, sql)
    assert done.returncode == 1 and done.stderr.startswith(f"phospho-stream query: {named}"), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert json.loads(query(chdb_dir, "SELECT count() AS n FROM phospho.notes", "--format", "json").stdout) == [{"n": 2}]


def test_bad_sql_quotes_clickhouses_message(chdb_dir):
    done = query(chdb_dir, "SELECT * FROM phospho.nope")
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("phospho-stream query: Code: 60. DB::Exception: ") and "phospho.nope" in done.stderr


def test_the_limits_come_from_the_environment(chdb_dir):
    done = query(chdb_dir, "SELECT number FROM numbers(100)", env={"PHOSPHO_READ_MAX_ROWS": "10"})
    assert done.returncode == 1 and "TOO_MANY_ROWS_OR_BYTES" in done.stderr
    bad = query(chdb_dir, "SELECT 1", env={"PHOSPHO_READ_TIMEOUT_SECONDS": "soon"})
    assert bad.returncode == 2 and bad.stderr.startswith("phospho-stream query: PHOSPHO_READ_TIMEOUT_SECONDS")
    assert "Traceback" not in bad.stderr


def test_insights_on_the_store(chdb_dir):
    done = run("insights", "--dsn", f"chdb://{chdb_dir}", env=os.environ)
    assert done.returncode == 0, done.stderr
    assert "== Power users ==" in done.stdout and "(0 rows)" in done.stdout
    as_json = json.loads(run("insights", "--dsn", f"chdb://{chdb_dir}", "--format", "json", env=os.environ).stdout)
    assert as_json["Overview"] == [{"tasks": 0, "sessions": 0, "users": 0, "feedback": 0, "detections": 0,
                                    "total_cost_usd": 0, "dead_letters": 0}]


@pytest.mark.parametrize("command", [["query", "SELECT 1"], ["insights"], ["dashboard"]])
def test_nothing_to_read_says_where_it_looked_and_creates_nothing(tmp_path, command):
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOSPHO_")} | {"PHOSPHO_DATA_DIR": str(data)}
    done = run(*command, env=env)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert str(data / "up.json") in done.stderr and str(data / "chdb") in done.stderr
    assert not data.exists()
    elsewhere = run(*command, "--dsn", f"chdb://{tmp_path / 'elsewhere'}", env=env)
    assert elsewhere.returncode == 2 and str(tmp_path / "elsewhere") in elsewhere.stderr
    assert not (tmp_path / "elsewhere").exists()
