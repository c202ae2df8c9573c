"""The locked query path against an attack list, on the real chDB store: each attack is refused
with a one-line reason naming what, and nothing happened (the victim table keeps its rows, no
table appears, no file is written, a listener on this machine receives no connection, the
store's own session keeps readonly=0). Then the second lock alone: ClickHouse, running the
statements with the locked settings and no parser in front, refuses what writes or reaches out;
and the limits stop what reads too much or too long."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from phospho_sinks import QueryLimits, ReadOnlyError, StoreError, locked_settings, read_only_query


class Listener:
    """A TCP port on loopback that counts the connections it receives (any protocol)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    running = Listener()
    yield running
    running.close()


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outfiles")


@pytest.fixture(scope="module")
def store(chdb_store):
    chdb_store.command("CREATE DATABASE IF NOT EXISTS phospho")
    chdb_store.command("CREATE TABLE IF NOT EXISTS phospho.victim (a UInt8) ENGINE = MergeTree ORDER BY a")
    chdb_store.command("TRUNCATE TABLE phospho.victim")
    chdb_store.command("INSERT INTO phospho.victim VALUES (1), (2), (3)")
    chdb_store.command("CREATE TABLE IF NOT EXISTS default.secrets (a UInt8) ENGINE = MergeTree ORDER BY a")
    chdb_store.command("INSERT INTO default.secrets VALUES (42)")
    return chdb_store


def nothing_happened(store, listener: Listener, outdir: Path) -> None:
    assert store.query("SELECT count(), sum(a) FROM phospho.victim").rows == [(3, 6)]
    assert store.query("SELECT count() FROM system.tables WHERE name IN ('pwned', 'x')").rows == [(0,)]
    assert store.query("SELECT count() FROM default.secrets").rows == [(1,)]
    assert list(outdir.iterdir()) == []
    assert listener.connections == 0
    assert store.query("SELECT getSetting('readonly')").rows == [(0,)]


# (attack, what the refusal names); {out} is a directory of this test, {port} the listener's
ATTACKS = [
    # several statements, whatever hides the semicolon from a naive filter
    ("SELECT '--'; DROP TABLE phospho.victim", "2 statements (SELECT, DROP)"),
    ("SELECT 1; DROP TABLE phospho.victim", "2 statements (SELECT, DROP)"),
    ("SELECT 1 /* ; */ ; DROP TABLE phospho.victim -- ;", "2 statements (SELECT, DROP)"),
    ("SELECT ';' AS x; DROP TABLE phospho.victim", "2 statements (SELECT, DROP)"),
    ("SELECT $$;$$; DROP TABLE phospho.victim", "2 statements (SELECT, DROP)"),
    ("SELECT 1 # comment\n; DROP TABLE phospho.victim", "2 statements (SELECT, DROP)"),
    ("SELECT 1 /* /* nested */ */; DROP TABLE phospho.victim", "2 statements (SELECT, DROP)"),
    ("SELECT 1; CREATE TABLE phospho.pwned (a UInt8) ENGINE = Memory", "2 statements (SELECT, CREATE)"),
    ("SELECT 1;;SELECT 2", "2 statements"),
    # anything but a SELECT
    ("DROP TABLE phospho.victim", "refused: DROP"),
    ("/* SELECT */ DROP TABLE phospho.victim", "refused: DROP"),
    ("WITH x AS (SELECT 1) INSERT INTO phospho.victim SELECT * FROM x", "refused: INSERT"),
    ("INSERT INTO phospho.victim VALUES (4)", "refused: INSERT"),
    ("CREATE TABLE phospho.pwned (a UInt8) ENGINE = Memory", "refused: CREATE"),
    ("ALTER TABLE phospho.victim DELETE WHERE 1", "refused: ALTER"),
    ("TRUNCATE TABLE phospho.victim", "refused: TRUNCATE"),
    ("RENAME TABLE phospho.victim TO phospho.pwned", "refused: RENAME"),
    ("EXCHANGE TABLES phospho.victim AND phospho.pwned", "refused: EXCHANGE"),
    ("OPTIMIZE TABLE phospho.victim FINAL", "refused: OPTIMIZE"),
    ("SYSTEM STOP MERGES", "refused: SYSTEM"),
    ("KILL QUERY WHERE 1", "refused: KILL"),
    ("GRANT ALL ON *.* TO default", "refused: GRANT"),
    ("ATTACH TABLE phospho.x", "refused: ATTACH"),
    ("DETACH TABLE phospho.victim", "refused: DETACH"),
    ("SET readonly = 0", "refused: SET"),
    ("USE system", "refused: USE"),
    ("EXPLAIN SELECT 1", "refused: EXPLAIN"),
    ("SHOW TABLES", "refused: SHOW"),
    ("DESCRIBE TABLE phospho.victim", "refused: DESCRIBE"),
    ("BACKUP TABLE phospho.victim TO File('{out}/backup.zip')", "refused: BACKUP"),
    ("", "refused: an empty statement"),
    (" ; ", "refused: an empty statement"),
    # settings and output
    ("SELECT 1 SETTINGS readonly = 0", "a SETTINGS clause"),
    ("SELECT * FROM phospho.victim SETTINGS max_execution_time = 100000", "a SETTINGS clause"),
    ("SELECT 1 UNION ALL (SELECT 2 SETTINGS readonly = 0)", "a SETTINGS clause"),
    ("SELECT 1 INTO OUTFILE '{out}/x.csv'", "INTO OUTFILE"),
    ("select 1 into /* comment */ outfile '{out}/x.csv' FORMAT CSV", "INTO OUTFILE"),
    ("SELECT * FROM phospho.victim INTO OUTFILE '{out}/x.csv' TRUNCATE", "INTO OUTFILE"),
    ("SELECT 1 FORMAT JSON", "a FORMAT clause"),
    # table functions and functions that read files, addresses or other tables
    ("SELECT * FROM file('/etc/passwd', 'LineAsString')", "the table function file()"),
    ("SELECT file('/etc/passwd')", "the function file()"),
    ("SELECT `file`('/etc/passwd')", "the function file()"),
    ("SELECT file/**/('/etc/passwd')", "the function file()"),
    ("SELECT * FROM url('http://127.0.0.1:{port}/x', 'CSV', 'a String')", "the table function url()"),
    ("SELECT * FROM s3('http://127.0.0.1:{port}/bucket/x.csv', 'CSV', 'a String')", "the table function s3()"),
    ("SELECT * FROM remote('127.0.0.1:{port}', system.one)", "the table function remote()"),
    ("SELECT * FROM remoteSecure('127.0.0.1:{port}', system.one)", "the table function remoteSecure()"),
    ("SELECT * FROM mysql('127.0.0.1:{port}', 'd', 't', 'u', 'p')", "the table function mysql()"),
    ("SELECT * FROM postgresql('127.0.0.1:{port}', 'd', 't', 'u', 'p')", "the table function postgresql()"),
    ("SELECT * FROM hdfs('hdfs://127.0.0.1:{port}/x', 'CSV', 'a String')", "the table function hdfs()"),
    ("SELECT * FROM executable('x.sh', 'CSV', 'a String')", "the table function executable()"),
    ("SELECT * FROM jdbc('x', 'y')", "the table function jdbc()"),
    ("SELECT * FROM odbc('x', 'y', 'z')", "the table function odbc()"),
    ("SELECT * FROM input('a UInt8')", "the table function input()"),
    ("SELECT * FROM cluster('default', system.one)", "the table function cluster()"),
    ("SELECT * FROM merge('default', '.*')", "the table function merge()"),
    ("SELECT * FROM view(SELECT * FROM default.secrets)", "the table function view()"),
    ("SELECT * FROM dictionary('d')", "the table function dictionary()"),
    ("SELECT * FROM generateRandom('a UInt8') LIMIT 1", "the table function generateRandom()"),
    ("SELECT * FROM zeros(10)", "the table function zeros()"),
    ("SELECT * FROM values('a UInt8', 1)", "FROM VALUES"),
    ("SELECT * FROM numbers(3) JOIN url('http://127.0.0.1:{port}/', 'CSV', 'n UInt64') USING n", "the table function url()"),
    ("SELECT joinGet('default.secrets', 'a', 1)", "the function joinGet()"),
    ("SELECT dictGet('d', 'a', toUInt64(1))", "the function dictGet()"),
    ("SELECT hasColumnInTable('system', 'one', 'dummy')", "the function hasColumnInTable()"),
    # other databases
    ("SELECT * FROM system.tables", "system.tables"),
    ("SELECT * FROM `system`.`tables`", "system.tables"),
    ('SELECT * FROM "system".tables', "system.tables"),
    ("SELECT name FROM information_schema.tables", "information_schema.tables"),
    ("SELECT * FROM default.secrets", "default.secrets"),
    ("SELECT * FROM phospho.victim WHERE a IN (SELECT a FROM default.secrets)", "default.secrets"),
    ("SELECT (SELECT max(a) FROM default.secrets)", "default.secrets"),
    ("SELECT * FROM phospho.victim AS v, default.secrets AS s", "default.secrets"),
    ("SELECT system.one.dummy", "system.one.dummy"),
    ("SELECT 42 IN default.secrets", "default.secrets"),
    ("SELECT 42 IN (default.secrets)", "default.secrets"),
    ("SELECT notIn(42, default.secrets)", "the function notIn()"),
    # what the parser cannot read is not run
    ("SELECT 1 /* unterminated", "SQL the parser cannot read"),
    ("SELECT 'unterminated", "SQL the parser cannot read"),
]


@pytest.mark.parametrize(("attack", "named"), ATTACKS, ids=[f"{i:02d}" for i in range(len(ATTACKS))])
def test_an_attack_is_refused_and_nothing_happens(store, listener, outdir, attack, named):
    sql = attack.format(out=outdir, port=listener.port)
    with pytest.raises(ReadOnlyError) as refused:
        read_only_query(store, sql)
    message = str(refused.value)
    assert message.startswith("refused: ") and named in message and "\n" not in message, message
    nothing_happened(store, listener, outdir)


# (statement, what ClickHouse says): the second lock, with no parser in front
CLICKHOUSE_REFUSES = [
    ("DROP TABLE phospho.victim", "READONLY"),
    ("INSERT INTO phospho.victim VALUES (4)", "READONLY"),
    ("CREATE TABLE phospho.pwned (a UInt8) ENGINE = Memory", "READONLY"),
    ("ALTER TABLE phospho.victim DELETE WHERE 1", "READONLY"),
    ("TRUNCATE TABLE phospho.victim", "READONLY"),
    ("SET readonly = 0", "Cannot modify 'readonly' setting in readonly mode"),
    ("SELECT 1 SETTINGS readonly = 0", "Cannot modify 'readonly' setting in readonly mode"),
    ("SELECT 1 SETTINGS max_execution_time = 100000", "Cannot modify 'max_execution_time' setting in readonly mode"),
    ("SELECT * FROM file('/etc/passwd', 'LineAsString')", "READONLY"),
    ("SELECT * FROM url('http://127.0.0.1:{port}/x', 'CSV', 'a String')", "READONLY"),
    ("SELECT * FROM s3('http://127.0.0.1:{port}/bucket/x.csv', 'CSV', 'a String')", "READONLY"),
    ("SELECT 1; CREATE TABLE phospho.pwned (a UInt8) ENGINE = Memory", "READONLY"),
]


@pytest.mark.parametrize(("statement", "says"), CLICKHOUSE_REFUSES, ids=[f"{i:02d}" for i in range(len(CLICKHOUSE_REFUSES))])
def test_clickhouse_alone_refuses_with_the_locked_settings(store, listener, outdir, statement, says):
    with pytest.raises(StoreError, match=says):
        store.query(statement.format(port=listener.port), settings=locked_settings(QueryLimits()))
    nothing_happened(store, listener, outdir)


LIMITS = QueryLimits(timeout_seconds=1, max_rows=1000, max_bytes=1_000_000)


@pytest.mark.parametrize(("abuse", "says"), [
    ("SELECT count() FROM numbers(1000000000000)", "TIMEOUT_EXCEEDED"),
    ("SELECT count() FROM numbers(1e12) AS a, numbers(1e12) AS b", "TIMEOUT_EXCEEDED"),
    ("SELECT number FROM numbers(10000000)", "TOO_MANY_ROWS_OR_BYTES"),
    ("SELECT repeat(toString(number), 100000) FROM numbers(500)", "TOO_MANY_ROWS_OR_BYTES"),
])
def test_the_limits_stop_a_query_that_reads_too_much_or_too_long(store, listener, outdir, abuse, says):
    with pytest.raises(StoreError, match=says):
        read_only_query(store, abuse, limits=LIMITS)
    nothing_happened(store, listener, outdir)
    assert read_only_query(store, "SELECT count() AS n FROM victim", limits=LIMITS).dicts() == [{"n": 3}]


def test_only_tuning_settings_may_be_added_from_code(store):
    assert read_only_query(store, "SELECT getSetting('optimize_move_to_prewhere_if_final') AS on",
                           tuning={"optimize_move_to_prewhere_if_final": 1}).dicts() == [{"on": True}]
    with pytest.raises(ReadOnlyError, match="refused: the setting readonly"):
        read_only_query(store, "SELECT 1", tuning={"readonly": 0})


def test_outer_joins_read_as_in_standard_sql(store):
    """A query cannot set join_use_nulls under readonly=1: the path sets it, so an unmatched side
    is NULL (the transcript query of the README relies on it)."""
    rows = read_only_query(store, """SELECT v.a AS a, n.number AS matched FROM phospho.victim AS v
        LEFT JOIN numbers(2) AS n ON n.number = v.a ORDER BY a""").rows
    assert rows == [(1, 1), (2, None), (3, None)]
