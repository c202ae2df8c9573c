"""The sink against the real broker and chDB: rows and dead letters land once; offsets are
committed only after a successful write; a store that fails pauses consumption, backs off, and
loses nothing."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from phospho_schemas import Topics
from phospho_sinks import SinkRunner, StoreError, json_lines, migrate

from tests.support.store_rows import feedback, span, task, window

pytestmark = pytest.mark.integration


class FailingStore:
    """Fault injection around the real store: the first `failures` inserts fail, and the store
    does not answer meanwhile (as when a server is down)."""

    def __init__(self, store, failures: int) -> None:
        self.store, self.failures = store, failures

    def insert_json(self, table, body):
        if self.failures > 0:
            self.failures -= 1
            raise StoreError("injected: the store is down")
        return self.store.insert_json(table, body)

    def query(self, sql, params=None):
        if self.failures > 0:
            raise StoreError("injected: the store is down")
        return self.store.query(sql, params)

    def __getattr__(self, name):
        return getattr(self.store, name)


@pytest.fixture
def topics(broker):
    topics = Topics(f"sink{uuid.uuid4().hex[:8]}.")
    broker.create_topics(topics.all())
    return topics


def produce(broker, messages):
    producer = Producer({"bootstrap.servers": broker.bootstrap, "log_level": 0})
    for topic, value, headers in messages:
        producer.produce(topic, value, headers=headers)
    assert producer.flush(10) == 0


def run_until(runner, condition, timeout=60.0, watch=None):
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not condition():
            if watch:
                watch()
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(30)
    assert condition(), runner.stats


def committed(broker, topics, group):
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "log_level": 0})
    try:
        parts = [TopicPartition(t, p) for t in (*topics.row_topics(), topics.dead_letters)
                 for p in consumer.list_topics(t, timeout=10).topics[t].partitions]
        return sum(tp.offset for tp in consumer.committed(parts, timeout=10) if tp.offset > 0)
    finally:
        consumer.close()


def test_rows_and_dead_letters_land_once_and_offsets_follow(broker, chdb_store, topics):
    migrate(chdb_store)
    tag = topics.prefix
    rows = [task(f"{tag}t{i}", f"{tag}ann", f"{tag}chat", f"s:{tag}chat|{tag}t0", i * 1000, 1) for i in range(3)]
    produce(broker, [
        (topics.rows("tasks"), json_lines(rows), None),  # many rows in one message
        (topics.rows("tasks"), json_lines(rows[:1]), None),  # delivered again
        (topics.rows("feedback"), json_lines([feedback(f"{tag}f1", f"{tag}t1", "success", 5)]), None),
        (topics.rows("sessions"), json_lines([window(f"s:{tag}chat|{tag}t0", f"{tag}chat", f"{tag}ann", 0, 2000, 3,
                                                     "x", 1, successes=1)]), None),
        (topics.rows("spans"), json_lines([span(f"{tag}t1", f"{tag}chat", event_id=f"{tag}s1")]), None),
        (topics.dead_letters, b"\x00garbage", [("reason", b"not a phospho event"), ("source_topic", b"phospho.tasks"),
                                                ("source_partition", b"2"), ("source_offset", b"41")]),
        (topics.rows("tasks"), b"{not json", None),  # refused by the store: dead-lettered with its reason
        (topics.rows("tasks"), json_lines([{"task_id": f"{tag}t9", "span_count": "many"}]), None),  # a wrong type too
    ])
    group = f"sink-{uuid.uuid4().hex}"
    runner = SinkRunner(broker.bootstrap, chdb_store, topics, group_id=group, max_seconds=0.2)

    def landed():
        n = chdb_store.query("SELECT count() FROM phospho.tasks WHERE session_id = {s:String}", {"s": f"{tag}chat"}).rows[0][0]
        return n == 3 and runner.stats.messages_in == 8 and not len(runner._writer) and runner.stats.rejected_messages == 2

    run_until(runner, landed)
    session = chdb_store.query("SELECT task_count, success_count FROM phospho.sessions WHERE session_id = {s:String}",
                               {"s": f"{tag}chat"}).rows
    assert session == [(3, 1)]
    letters = chdb_store.query("SELECT topic, partition, reason FROM phospho.dead_letters "
                               "WHERE topic = 'phospho.tasks' AND offset = 41 OR topic = {t:String} ORDER BY reason",
                               {"t": topics.rows("tasks")}).rows
    assert ("phospho.tasks", 2, "not a phospho event") in letters
    refused = [reason for topic, _, reason in letters if topic == topics.rows("tasks")]
    assert len(refused) == 2 and all(r.startswith("sink: phospho_store.tasks refused the rows: ") for r in refused)
    assert committed(broker, topics, group) == 8  # every message, and only after its write


def test_a_failing_store_pauses_consumption_and_loses_nothing(broker, chdb_store, topics):
    migrate(chdb_store)
    tag = topics.prefix
    rows = [task(f"{tag}t{i}", f"{tag}bob", f"{tag}s", f"s:{tag}s|{tag}t0", i, 1) for i in range(50)]
    produce(broker, [(topics.rows("tasks"), json_lines([r]), None) for r in rows])
    group = f"sink-{uuid.uuid4().hex}"
    flaky = FailingStore(chdb_store, failures=3)
    runner = SinkRunner(broker.bootstrap, flaky, topics, group_id=group, max_seconds=0.1)
    seen = {"paused": False}

    def watch():
        if runner.stats.paused:
            seen["paused"] = True

    def landed():
        return chdb_store.query("SELECT count() FROM phospho.tasks WHERE session_id = {s:String}",
                                {"s": f"{tag}s"}).rows[0][0] == 50 and not runner.stats.paused

    run_until(runner, landed, watch=watch)
    # the third failed insert finds the store answering again: the batch is written part by part,
    # none of it refused
    assert seen["paused"] and runner.stats.failed_writes == 2 and flaky.failures == 0
    assert runner.stats.rows_written >= 50 and runner.stats.rejected_messages == 0
    assert committed(broker, topics, group) == 50


def step_until(runner, condition, steps=300):
    for _ in range(steps):
        if condition():
            return
        runner.step()
    assert condition(), runner.stats


def test_a_batch_is_written_once_the_topics_run_dry_and_writes_keep_min_seconds_apart(broker, chdb_store, topics):
    migrate(chdb_store)
    tag = topics.prefix
    rows = [task(f"{tag}t{i}", f"{tag}cy", f"{tag}s", f"s:{tag}s|{tag}t0", i, 1) for i in range(2)]
    runner = SinkRunner(broker.bootstrap, chdb_store, topics, group_id=f"sink-{uuid.uuid4().hex}",
                        max_seconds=3600, min_seconds=3600)
    try:
        produce(broker, [(topics.rows("tasks"), json_lines(rows[:1]), None)])
        step_until(runner, lambda: runner.stats.messages_in == 1)
        runner.step()  # nothing more came: written now, not after max_seconds
        assert runner.stats.batches_written == 1 and not len(runner._writer)
        produce(broker, [(topics.rows("tasks"), json_lines(rows[1:]), None)])
        step_until(runner, lambda: runner.stats.messages_in == 2)
        for _ in range(5):  # the last write was not min_seconds ago: the row waits
            runner.step()
        assert runner.stats.batches_written == 1 and len(runner._writer) == 1
    finally:
        stopped = threading.Event()
        stopped.set()
        runner.run(stopped)  # returns at once: the last write, the consumer closed
