"""The sink executes deletion requests from the control topic: what it held is written, then the
user's rows go; rows of that user (and of their tasks and windows) read afterwards, as a replay
sends them, never reach the store, also after the sink restarts; the audit row says it ran."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Producer

from phospho_schemas import Topics
from phospho_sinks import SinkRunner, json_lines, migrate
from phospho_sinks.deletion import DeletionRequest, audit_of

from tests.integration.sinks.test_runner import run_until
from tests.support.store_rows import span, task, window

pytestmark = pytest.mark.integration


def test_a_request_deletes_what_was_written_and_keeps_out_what_comes_after(broker, chdb_store):
    migrate(chdb_store)
    topics = Topics(f"del{uuid.uuid4().hex[:8]}.")
    broker.create_topics(topics.all())
    tag = topics.prefix
    gone, kept, window_id = f"{tag}gone", f"{tag}kept", f"s:{tag}c|{tag}t1"
    rows = {
        "tasks": [task(f"{tag}t1", gone, f"{tag}c", window_id, 0, 1), task(f"{tag}t2", kept, f"{tag}c2", f"{tag}w2", 0, 1)],
        "spans": [span(f"{tag}t1", f"{tag}c", f"{tag}s1")],
        "sessions": [window(window_id, f"{tag}c", gone, 0, 0, 1, "x", 1)],
    }
    producer = Producer({"bootstrap.servers": broker.bootstrap, "log_level": 0})

    def send(batch, request=None):
        for table, items in batch.items():
            producer.produce(topics.rows(table), json_lines(items))
        if request is not None:
            producer.produce(topics.deletions, request.to_json(), request.user_id.encode())
        assert producer.flush(10) == 0

    def count(sql):
        return chdb_store.query(sql, {"g": gone, "t": f"{tag}t1", "w": window_id}).rows[0][0]

    mine = ("SELECT (SELECT count() FROM phospho_store.tasks WHERE task_id = {t:String}) + "
            "(SELECT count() FROM phospho_store.spans WHERE task_id = {t:String}) + "
            "(SELECT count() FROM phospho_store.sessions WHERE window_id = {w:String})")
    request = DeletionRequest(gone, requested_by="dpo")
    send(rows, request)  # rows, then the request: written first, then deleted
    replay = {**rows, "tasks": [*rows["tasks"], {"task_id": f"{tag}t1", "language": "en"},
                                {"task_id": f"{tag}t1", "window_id": window_id}]}
    replayed = []

    def replay_once_deleted():  # a replay, read by the same sink once it deleted the user
        if not replayed and audit_of(chdb_store.query, request.request_id) is not None:
            assert count(mine) == 0
            send(replay)
            replayed.append(True)

    runner = SinkRunner(broker.bootstrap, chdb_store, topics, group_id=f"sink-{tag}")
    run_until(runner, lambda: runner.stats.messages_in >= 7 and not len(runner._writer), watch=replay_once_deleted)
    assert audit_of(chdb_store.query, request.request_id)["counts"]["tasks"] == 1
    send(replay)  # and by a restarted one, which reads the tombstones from the store
    restarted = SinkRunner(broker.bootstrap, chdb_store, topics, group_id=f"sink-{tag}")
    run_until(restarted, lambda: restarted.stats.messages_in >= 3 and not len(restarted._writer))
    assert count(mine) == 0
    assert chdb_store.query("SELECT count() FROM phospho.tasks WHERE user_id = {k:String}", {"k": kept}).rows == [(1,)]
    assert runner.stats.deletions == 1 and restarted.stats.deletions == 0  # its offset was committed
