"""The store layer on chDB (the real ClickHouse engine in-process): bound parameters, inserts,
versioned migrations, per-query settings, the read-only path. chDB allows one data path per
process, so the module shares one store."""

from __future__ import annotations

import pytest

from phospho_sinks import (
    Migration,
    ReadOnlyError,
    StoreError,
    check_read_only,
    connect,
    json_lines,
    migrate,
    read_only_query,
)
from phospho_sinks.migrations import applied_versions


@pytest.fixture
def store(chdb_store):
    return chdb_store


def test_the_same_path_gives_the_same_store(store):
    assert connect(store.dsn) is store


def test_bound_parameters_stay_values(store):
    evil = "x'); DROP DATABASE phospho; --"
    result = store.query("SELECT {s:String} AS s, {n:UInt64} + 1 AS n", {"s": evil, "n": 41})
    assert result.columns == ["s", "n"]
    assert result.rows == [(evil, 42)]


def test_insert_rows_and_read_them_back_with_clickhouse_types(store):
    store.command("CREATE DATABASE IF NOT EXISTS scratch")
    store.command("""CREATE TABLE IF NOT EXISTS scratch.t (
        id String, at_ms Int64, tags Map(String, String), errors Array(String), maybe Nullable(Int64)
    ) ENGINE = ReplacingMergeTree ORDER BY id""")
    rows = [{"id": "a", "at_ms": 1763733000123, "tags": {"k": "v", "é": "😀"}, "errors": [], "maybe": None},
            {"id": "b", "at_ms": 0, "tags": {}, "errors": ["x"], "maybe": 7}]
    store.insert_json("scratch.t", json_lines(rows))
    result = store.query("""SELECT id, toString(fromUnixTimestamp64Milli(at_ms, 'UTC')) AS at, tags['é'] AS t,
                            length(errors) AS e, maybe FROM scratch.t ORDER BY id""")
    assert result.dicts() == [
        {"id": "a", "at": "2025-11-21 13:50:00.123", "t": "😀", "e": 0, "maybe": None},
        {"id": "b", "at": "1970-01-01 00:00:00.000", "t": "", "e": 1, "maybe": 7},
    ]
    store.insert_json("scratch.t", b"")  # nothing to insert: nothing happens


def test_errors_are_store_errors(store):
    with pytest.raises(StoreError, match="UNKNOWN_TABLE|does not exist|Unknown table"):
        store.query("SELECT * FROM scratch.no_such_table")
    with pytest.raises(StoreError, match="unsupported DSN"):
        connect("mysql://somewhere")


def test_migrations_run_once_in_order(store):
    migrations = (
        Migration(1001, "a table", ["CREATE TABLE IF NOT EXISTS phospho.m1 (x UInt8) ENGINE = MergeTree ORDER BY x"]),
        Migration(1002, "a view", ["CREATE OR REPLACE VIEW phospho.v1 AS SELECT count() AS n FROM phospho.m1"]),
    )
    try:
        assert migrate(store, migrations[:1]) == [1001]
        assert migrate(store, migrations) == [1002]
        assert migrate(store, migrations) == []
        assert applied_versions(store) >= {1001, 1002}
        assert store.query("SELECT n FROM phospho.v1").rows == [(0,)]
        with pytest.raises(ValueError, match="increasing"):
            migrate(store, (migrations[1], migrations[0]))
    finally:  # the session's store is shared: the views' documentation test lists every view
        store.command("DROP VIEW IF EXISTS phospho.v1")
        store.command("DROP TABLE IF EXISTS phospho.m1")


@pytest.mark.parametrize("sql", [
    "SELECT 1", "  select 1;", "WITH x AS (SELECT 1) SELECT * FROM x", "-- a comment\nSELECT 2", "(SELECT 1)",
    "SELECT count() + 1 FROM schema_migrations", "SELECT 1 UNION ALL SELECT 2", "SELECT number FROM numbers(3)",
])
def test_read_only_path_lets_reads_through(store, sql):
    migrate(store)
    check_read_only(sql)
    assert read_only_query(store, sql).rows


@pytest.mark.parametrize("sql", [
    "INSERT INTO scratch.t (id) VALUES ('z')", "DROP TABLE scratch.t", "CREATE TABLE x (a UInt8) ENGINE=Memory",
    "ALTER TABLE scratch.t DELETE WHERE 1", "TRUNCATE TABLE scratch.t", "SYSTEM DROP DNS CACHE",
    "SELECT 1; DROP TABLE scratch.t", "/* SELECT */ DROP TABLE scratch.t", "SELECT 1 INTO OUTFILE '/tmp/x'",
    "OPTIMIZE TABLE scratch.t FINAL", "", "   ", "SELECT * FROM scratch.t", "SHOW TABLES FROM phospho",
    "DESCRIBE TABLE phospho.schema_migrations", "EXPLAIN SELECT 1",
])
def test_read_only_path_refuses_writes_and_other_databases(store, sql):
    with pytest.raises(ReadOnlyError, match="^refused: "):
        read_only_query(store, sql)
    assert store.query("SELECT count() FROM scratch.t").rows[0][0] >= 0  # the table is still there


def test_settings_apply_to_their_query_only(store):
    locked = {"max_execution_time": 7, "readonly": 1}
    assert store.query("SELECT getSetting('readonly'), getSetting('max_execution_time')", settings=locked).rows == [(1, 7)]
    assert store.query("SELECT getSetting('readonly')").rows == [(0,)]
    with pytest.raises(StoreError, match="READONLY"):
        store.query("CREATE TABLE scratch.nope (a UInt8) ENGINE = Memory", settings=locked)
    assert store.query("EXISTS TABLE scratch.nope").rows == [(0,)]
    with pytest.raises(StoreError, match="Cannot modify 'readonly' setting in readonly mode"):
        store.query("SELECT 1 SETTINGS readonly = 0", settings=locked)


def test_a_query_after_a_failed_one_gets_its_own_result(store):
    """chDB 4.4 hands the query after a failed one the failed one's result: the store reopens
    the connection of a failed statement."""
    limited = {"max_result_rows": 10, "result_overflow_mode": "throw", "readonly": 1}
    for _ in range(2):
        with pytest.raises(StoreError, match="TOO_MANY_ROWS_OR_BYTES"):
            store.query("SELECT number FROM numbers(100)", settings=limited)
        assert store.query("SELECT 'mine' AS answer", settings=limited).dicts() == [{"answer": "mine"}]
    with pytest.raises(StoreError, match="UNKNOWN_IDENTIFIER"):
        store.query("SELECT throwIf(number = 3), nope FROM numbers(5)")
    assert store.query("SELECT 'mine too' AS answer").dicts() == [{"answer": "mine too"}]


def test_clickhouse_messages_are_one_line(store):
    with pytest.raises(StoreError) as failed:
        store.query("SELECT\n nope\n FROM numbers(1)")
    message = str(failed.value)
    assert message.startswith("Code: 47. DB::Exception: ") and "\n" not in message and "(version" not in message


def test_a_server_dsn_that_cannot_be_reached_is_a_store_error():
    with pytest.raises(StoreError, match="cannot connect to ClickHouse at 127.0.0.1:1"):
        connect("clickhouse://default:secret@127.0.0.1:1/default")
