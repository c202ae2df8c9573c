"""Nothing is lost and nothing is sent twice when Kafka goes away: the SDK spools to disk and
sends the spool when the broker is back, in the same process or after an app restart; a full
in-memory queue spools in the caller.

Each scenario runs the SDK in a child process (tests/support/sdk_driver.py) so that
it starts from a fresh SDK; the child prints phospho.stats() as JSON at the end.
"""

from __future__ import annotations

import collections
import json
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from phospho_schemas import Topics
from phospho_stream import EmbeddedBroker
from phospho_stream.local.broker import free_port

from tests.support.kafka import consume
from tests.support.sdk_driver import SdkProcess, clean_env

pytestmark = pytest.mark.integration


def segments(spool: Path) -> list[Path]:
    return sorted(p for p in spool.iterdir() if p.name.endswith(".spool")) if spool.exists() else []


def read_run(bootstrap: str, topics: Topics, run: str, expected: int, timeout: float = 30) -> list[dict[str, Any]]:
    """The task records of one run (metadata.run == run), from the beginning of the topic."""
    def mine(results: list) -> list[dict[str, Any]]:
        return [r for k, r, _ in results if k == "task" and r["metadata"].get("run") == run]

    return mine(consume(bootstrap, [topics.tasks], until=lambda rs: len(mine(rs)) >= expected, timeout=timeout))


def assert_exactly_once(records: list[dict[str, Any]], seqs: range, task_ids: list[str]) -> None:
    by_seq = collections.Counter(int(r["metadata"]["seq"]) for r in records)
    by_task = collections.Counter(r["task_id"] for r in records)
    by_event = collections.Counter(r["event_id"] for r in records)
    missing = sorted(set(seqs) - set(by_seq))
    duplicated = sorted(s for s, n in by_seq.items() if n > 1)
    assert not missing and not duplicated, f"missing seqs {missing[:20]} ({len(missing)}), duplicated {duplicated[:20]} ({len(duplicated)})"
    assert set(by_seq) == set(seqs)
    assert sorted(by_task) == sorted(task_ids) and max(by_task.values()) == 1
    assert len(by_event) == len(records) == len(seqs)


@pytest.fixture
def own_broker(tmp_path):
    broker = EmbeddedBroker(log_path=tmp_path / "tansu.log")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def test_broker_stopped_while_logging_then_restarted(own_broker, tmp_path) -> None:
    """(a) log N1 (delivered), stop the broker, log N2 (spooled), restart the broker on the same
    port (memory storage: empty, topics recreated), flush: exactly the N2 arrive, once each."""
    n1, n2, run = 100, 200, f"a{uuid.uuid4().hex[:8]}"
    spool = tmp_path / "spool"
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
    init = {"project_id": "outage", "bootstrap_servers": own_broker.bootstrap, "spool_dir": str(spool), "exit_timeout": 3}
    with SdkProcess(init, env) as sdk:
        assert sdk.hello.get("ready"), sdk.hello
        phase1 = sdk.call("log", n=n1, start=0, run=run)
        flushed = sdk.call("flush", timeout=30)
        assert flushed["result"] is True, flushed
        first = read_run(own_broker.bootstrap, own_broker.topics, run, n1)
        assert_exactly_once(first, range(n1), phase1["task_ids"])

        own_broker.stop()
        port = own_broker.port
        phase2 = sdk.call("log", n=n2, start=n1, run=run)
        waited = sdk.call("wait", key="spooled", min=n2, timeout=40)
        stats = waited["stats"]
        assert stats["spooled"] > 0 and stats["delivered"] == n1, stats
        assert waited["reached"], f"only {stats['spooled']} of {n2} events spooled: {stats}"
        assert segments(spool), f"no spool segment in {spool}: {list(spool.iterdir())}"
        assert stats["failed"] == 0, stats

        own_broker.start()
        assert own_broker.port == port
        flushed = sdk.call("flush", timeout=60)
        assert flushed["result"] is True, (
            f"flush(60) after the broker restart returned {flushed['result']}: {flushed['stats']}\n"
            f"SDK log:\n{sdk.stderr}"
        )
        second = read_run(own_broker.bootstrap, own_broker.topics, run, n2)
        assert_exactly_once(second, range(n1, n1 + n2), phase2["task_ids"])
        assert {int(r["metadata"]["seq"]) for r in first + second} == set(range(n1 + n2))
        final = sdk.exit()
    assert final["returncode"] == 0
    assert final["final_stats"]["failed"] == 0 and final["final_stats"]["pending"] == 0, final
    assert not segments(spool), f"spool not empty: {segments(spool)}"


def test_app_restarted_with_a_non_empty_spool(broker, tmp_path) -> None:
    """(b) process 1 logs N with Kafka unreachable and exits (the exit hook flushes within
    exit_timeout, then spools); process 2, same spool_dir, Kafka reachable: flush sends them all,
    exactly once, and empties the spool."""
    n, run = 150, f"b{uuid.uuid4().hex[:8]}"
    topics = Topics(f"outb{uuid.uuid4().hex[:8]}.")
    broker.create_topics(topics.all())
    spool = tmp_path / "spool"
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
    common = {"project_id": "outage", "spool_dir": str(spool), "topic_prefix": topics.prefix, "exit_timeout": 2}

    dead = f"127.0.0.1:{free_port()}"
    with SdkProcess({**common, "bootstrap_servers": dead}, env) as first:
        assert first.hello.get("ready"), first.hello
        logged = first.call("log", n=n, start=0, run=run)
        final1 = first.exit(timeout=30)
    assert final1["returncode"] == 0, first.stderr
    stats1 = final1["final_stats"]
    assert stats1["delivered"] == 0 and stats1["failed"] == 0, stats1
    assert stats1["spooled"] >= n, stats1
    assert final1["threads"] == [], "the sender thread is still running after exit"
    assert segments(spool), f"process 1 left no spool segment in {spool}"
    assert sum(p.stat().st_size for p in segments(spool)) > 0

    with SdkProcess({**common, "bootstrap_servers": broker.bootstrap}, env) as second:
        assert second.hello.get("ready"), second.hello
        flushed = second.call("flush", timeout=60)
        assert flushed["result"] is True, (flushed, second.stderr)
        final2 = second.exit(timeout=30)
    assert final2["returncode"] == 0
    assert final2["final_stats"]["failed"] == 0
    records = read_run(broker.bootstrap, topics, run, n)
    assert_exactly_once(records, range(n), logged["task_ids"])
    assert list(spool.iterdir()) == [], f"spool not empty: {list(spool.iterdir())}"


def test_full_queue_stays_bounded_and_loses_nothing(broker, tmp_path) -> None:
    """(c) max_queue_size=100 and a burst of 5000 logs from a busy app thread: the queue never
    holds more than 100 events, the overflow is handled in the caller, and everything arrives
    exactly once."""
    n, run = 5000, f"c{uuid.uuid4().hex[:8]}"
    topics = Topics(f"outc{uuid.uuid4().hex[:8]}.")
    broker.create_topics(topics.all())
    spool = tmp_path / "spool"
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
    init = {"project_id": "outage", "bootstrap_servers": broker.bootstrap, "spool_dir": str(spool),
            "topic_prefix": topics.prefix, "max_queue_size": 100, "exit_timeout": 5}
    with SdkProcess(init, env) as sdk:
        assert sdk.hello.get("ready"), sdk.hello
        # a busy app thread (it keeps the GIL for up to 0.5 s): the sender cannot keep up
        logged = sdk.call("log", n=n, start=0, run=run, hog=0.5)
        stats = logged["stats"]
        assert stats["queued"] == n and stats["pending"] <= 100 and stats["failed"] == 0, stats
        flushed = sdk.call("flush", timeout=60)
        assert flushed["result"] is True, (flushed, sdk.stderr)
        final = sdk.exit(timeout=30)
    stats = final["final_stats"]
    assert final["returncode"] == 0
    assert stats["failed"] == 0 and stats["delivered"] + stats["spooled"] >= n, stats
    records = read_run(broker.bootstrap, topics, run, n, timeout=45)
    assert_exactly_once(records, range(n), logged["task_ids"])
    assert not segments(spool), f"spool not empty: {segments(spool)}"


def test_what_the_spool_accepted_survives_a_sigkill_of_the_app(broker, tmp_path) -> None:
    """Process 1 logs N with Kafka unreachable and is SIGKILLed the moment its spool has accepted
    all N (no exit hook, no flush, no fsync): every record is already with the OS. Process 2,
    same spool_dir, Kafka reachable: every event arrives, exactly once."""
    n, run = 500, f"k{uuid.uuid4().hex[:8]}"
    topics = Topics(f"outk{uuid.uuid4().hex[:8]}.")
    broker.create_topics(topics.all())
    spool = tmp_path / "spool"
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
    common = {"project_id": "outage", "spool_dir": str(spool), "topic_prefix": topics.prefix}

    with SdkProcess({**common, "bootstrap_servers": f"127.0.0.1:{free_port()}"}, env) as first:
        assert first.hello.get("ready"), first.hello
        logged = first.call("log", n=n, start=0, run=run)
        first.proc.stdin.write(json.dumps({"op": "wait", "key": "spooled", "min": n, "timeout": 60, "then_kill": True}) + "\n")
        first.proc.stdin.flush()
        assert first.proc.wait(90) == -signal.SIGKILL, first.stderr
    assert segments(spool), f"process 1 left no spool segment in {spool}"

    with SdkProcess({**common, "bootstrap_servers": broker.bootstrap}, env) as second:
        assert second.hello.get("ready"), second.hello
        flushed = second.call("flush", timeout=60)
        assert flushed["result"] is True, (flushed, second.stderr)
        records = read_run(broker.bootstrap, topics, run, n)
        assert_exactly_once(records, range(n), logged["task_ids"])
        assert flushed["stats"]["failed"] == 0, flushed
        second.exit()
    assert not segments(spool), f"spool not empty: {segments(spool)}"


def test_full_queue_while_kafka_is_down_spools_in_the_caller(broker, tmp_path) -> None:
    """(c') the same burst while Kafka is unreachable: the caller spools what the queue cannot
    hold; after an app restart with Kafka reachable, all 5000 arrive exactly once."""
    n, run = 5000, f"d{uuid.uuid4().hex[:8]}"
    topics = Topics(f"outd{uuid.uuid4().hex[:8]}.")
    broker.create_topics(topics.all())
    spool = tmp_path / "spool"
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
    common = {"project_id": "outage", "spool_dir": str(spool), "topic_prefix": topics.prefix,
              "max_queue_size": 100, "exit_timeout": 2}
    with SdkProcess({**common, "bootstrap_servers": f"127.0.0.1:{free_port()}"}, env) as first:
        assert first.hello.get("ready"), first.hello
        first_one = first.call("log", n=1, start=0, run=run)
        waited = first.call("wait", key="spooled", min=1, timeout=30)
        assert waited["reached"] and waited["stats"]["spooling"], waited  # the SDK knows Kafka is down
        burst = first.call("log", n=n - 1, start=1, run=run, hog=0.5)
        stats = burst["stats"]
        assert stats["pending"] <= 100 and stats["failed"] == 0, stats
        assert stats["spooled"] > 1, f"nothing spooled by the burst: {stats}"
        final1 = first.exit(timeout=30)
    stats1 = final1["final_stats"]
    assert final1["returncode"] == 0 and stats1["delivered"] == 0 and stats1["failed"] == 0, stats1
    assert stats1["spooled"] >= n, stats1
    assert segments(spool)

    with SdkProcess({**common, "bootstrap_servers": broker.bootstrap}, env) as second:
        flushed = second.call("flush", timeout=60)
        assert flushed["result"] is True, (flushed, second.stderr)
        second.exit(timeout=30)
    records = read_run(broker.bootstrap, topics, run, n, timeout=45)
    assert_exactly_once(records, range(n), first_one["task_ids"] + burst["task_ids"])
    assert list(spool.iterdir()) == [], f"spool not empty: {list(spool.iterdir())}"
