"""The worker's engine against the real broker, in-process and in its child process: a batch
in, durable state and rows out; poison to dead letters; failures reported, never acknowledged;
the child never outlives its worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from test_processing import MIN, feedback, span, task
from test_state_codec import with_raw

from phospho_schemas import Topics
from phospho_stream import EngineError
from phospho_stream._engine import Engine
from phospho_stream._engine_process import EngineProcess, ThreadEngine, start_engine
from phospho_stream.processing import RAW
from phospho_stream.settings import WorkerSettings

from tests.support.kafka import consume_raw, json_rows

pytestmark = pytest.mark.integration


def encoded(kind: str, record: dict) -> bytes:
    return with_raw(kind, record)[RAW]


@pytest.fixture()
def settings(broker) -> WorkerSettings:
    prefix = f"e{uuid.uuid4().hex[:8]}."
    broker.create_topics(Topics(prefix).all())
    return WorkerSettings(broker.bootstrap, topic_prefix=prefix, app_id=f"engine-{prefix}", partitions=4)


def messages(settings: WorkerSettings, events: list[tuple[str, dict]], key: bytes = b"s:chat", partition: int = 1,
             first_offset: int = 0) -> list[tuple]:
    topics = Topics(settings.topic_prefix)
    topic = {"task": topics.tasks, "span": topics.spans, "feedback": topics.feedback}
    return [(topic[kind], partition, first_offset + i, key, encoded(kind, record)) for i, (kind, record) in enumerate(events)]


def test_a_batch_becomes_durable_state_then_rows_and_poison_becomes_dead_letters(settings):
    topics = Topics(settings.topic_prefix)
    engine = Engine(settings)
    engine.ensure_topics()
    batch = messages(settings, [("span", span("s1", "t1")), ("task", task("t1", 0)), ("task", task("t2", 5 * MIN)),
                                ("feedback", feedback("t2", "failure"))])
    batch.append((topics.spans, 1, 99, b"s:chat", b"\x00\x00\x00\x00\x07 a registry id nobody knows"))
    batch.append((topics.tasks, 2, 7, None, None))  # a tombstone is no event either
    result = engine.batch(batch, 1_000)
    assert result == {"events": 6, "dead_letters": 2, "rows": result["rows"]}
    engine.close()

    # the rows are on the row topics once `batch` returned
    tasks = json_rows(consume_raw(settings.bootstrap, topics.task_rows, until=lambda ms: len(json_rows(ms)) >= 3, timeout=10))
    newest = {r["task_id"]: r for r in sorted(tasks, key=lambda r: r["version"])}
    assert set(newest) == {"t1", "t2"}
    assert newest["t1"]["span_count"] == 1 and newest["t2"]["feedback_flag"] == "failure"
    assert {r["window_id"] for r in newest.values()} == {"s:chat|t1"}
    sessions = json_rows(consume_raw(settings.bootstrap, topics.session_rows, until=lambda ms: len(json_rows(ms)) >= 1, timeout=10))
    final = max(sessions, key=lambda r: r["version"])
    assert (final["task_count"], final["failure_count"]) == (2, 1)
    dead = consume_raw(settings.bootstrap, topics.dead_letters, until=lambda ms: len(ms) >= 2, timeout=10)
    origins = sorted((dict(m.headers())["source_topic"].decode(), dict(m.headers())["source_offset"].decode()) for m in dead)
    assert origins == [(topics.spans, "99"), (topics.tasks, "7")]
    assert all(dict(m.headers())["reason"] for m in dead)

    # the state was durable before `batch` returned: a new engine (a restarted worker) reads it
    # back, so the same batch delivered again changes nothing (its last write's rows are sent
    # again, at the same versions), and a new task joins the window
    again = Engine(settings)
    try:
        assert again.batch(batch[:4], 2_000)["rows"] == 5  # 2 tasks, their span and feedback, their window
        assert again.batch(batch[:4], 2_500)["rows"] == 0
        more = again.batch(messages(settings, [("task", task("t3", 10 * MIN))], first_offset=4), 3_000)
        assert more["rows"] >= 2  # the task and its window
    finally:
        again.close()
    sessions = json_rows(consume_raw(settings.bootstrap, topics.session_rows, until=lambda ms: any(r["task_count"] == 3 for r in json_rows(ms)), timeout=10))
    assert max(sessions, key=lambda r: r["version"])["task_count"] == 3


def test_a_crash_between_the_state_and_its_rows_loses_no_row(settings):
    """The state of a batch is durable before its rows go out. A worker killed in between
    restarts on that state, where the batch's events, delivered again, change nothing: the
    rows of the last state write are sent again when the partition is recovered."""
    topics = Topics(settings.topic_prefix)
    crashed = Engine(settings)
    crashed.ensure_topics()
    crashed._produce_rows = lambda out: (_ for _ in ()).throw(SystemExit("killed after the state write"))  # type: ignore[method-assign]
    events = [("task", task("t1", 0)), ("span", span("s1", "t1")), ("task", task("t2", 2 * MIN)),
              ("feedback", feedback("t1", "success")), ("task", task("t3", 3 * MIN, session="other"))]
    batch = messages(settings, events[:4]) + messages(settings, events[4:], key=b"s:other", first_offset=4)
    # two windows of "m" that a task then bridges: the tombstone of the merged one goes out again too
    merged = messages(settings, [("task", task("m1", 0, session="m")), ("task", task("m2", 50 * MIN, session="m")),
                                 ("task", task("m3", 25 * MIN, session="m"))], key=b"s:m", partition=2)
    with pytest.raises(SystemExit):
        crashed.batch(batch + merged, 1_000)
    crashed.close()

    restarted = Engine(settings)
    try:
        restarted.batch(batch + merged, 2_000)  # read again from the last committed offsets
    finally:
        restarted.close()
    tasks = json_rows(consume_raw(settings.bootstrap, topics.task_rows, until=lambda ms: len({r["task_id"] for r in json_rows(ms)}) >= 6,
                                  timeout=10))
    newest = {r["task_id"]: r for r in sorted(tasks, key=lambda r: r["version"])}
    assert set(newest) == {"t1", "t2", "t3", "m1", "m2", "m3"}
    assert {newest[t]["window_id"] for t in ("m1", "m2", "m3")} == {"s:m|m1"}
    assert (newest["t1"]["span_count"], newest["t1"]["feedback_flag"]) == (1, "success")
    spans = json_rows(consume_raw(settings.bootstrap, topics.span_rows, until=lambda ms: len(json_rows(ms)) >= 1, timeout=10))
    assert {(r["event_id"], r["task_id"], r["orphan"]) for r in spans} == {("s1", "t1", False)}
    feedback_rows = json_rows(consume_raw(settings.bootstrap, topics.feedback_rows, until=lambda ms: len(json_rows(ms)) >= 1,
                                          timeout=10))
    assert {(r["task_id"], r["flag"]) for r in feedback_rows} == {("t1", "success")}
    sessions = json_rows(consume_raw(settings.bootstrap, topics.session_rows, until=lambda ms: len(json_rows(ms)) >= 4, timeout=10))
    final: dict[str, dict] = {}
    for row in sorted(sessions, key=lambda r: r["version"]):
        final[row["window_id"]] = row
    assert {wid: (r["task_count"], r["is_deleted"]) for wid, r in final.items()} == {
        "s:chat|t1": (2, 0), "s:other|t3": (1, 0), "s:m|m1": (3, 0), "s:m|m2": (0, 1)}


def test_a_batch_prepared_while_the_last_one_s_rows_are_on_their_way(settings):
    """What the engine process does under load: batch 2 is applied in memory before batch 1's
    rows are acknowledged, and its state is written only after. The rows are those of the two
    batches one after the other."""
    topics = Topics(settings.topic_prefix)
    engine = Engine(settings)
    engine.ensure_topics()
    try:
        first = engine.commit(engine.prepare(messages(settings, [("task", task("p1", 0)), ("task", task("p3", 50 * MIN))]), 1_000))
        second = engine.prepare(messages(settings, [("task", task("p2", 25 * MIN))], first_offset=2), 2_000)  # bridges p1, p3
        assert first.finish() == {"events": 2, "dead_letters": 0, "rows": 4}
        assert engine.commit(second).finish()["rows"] == 4  # p2, p3 moved, the merged window, p3's window's tombstone
    finally:
        engine.close()
    sessions = json_rows(consume_raw(settings.bootstrap, topics.session_rows, until=lambda ms: len(json_rows(ms)) >= 4, timeout=10))
    final: dict[str, dict] = {}
    for row in sorted(sessions, key=lambda r: r["version"]):
        final[row["window_id"]] = row
    assert {wid: (r["task_count"], r["is_deleted"]) for wid, r in final.items()} == {"s:chat|p1": (3, 0), "s:chat|p3": (0, 1)}


def test_the_engine_process_answers_three_queued_batches_in_order(settings):
    import threading

    engine = EngineProcess(settings)
    try:
        engine.call("ensure_topics")
        results: dict[int, dict] = {}
        batches = [messages(settings, [("task", task(f"q{i}-{j}", (i * 10 + j) * MIN)) for j in range(200)], first_offset=i * 200)
                   for i in range(3)]
        threads = []
        for i, batch in enumerate(batches):
            threads.append(threading.Thread(target=lambda i=i, batch=batch: results.update({i: engine.call("batch", batch, 1_000 + i)})))
            threads[-1].start()
            while engine._turns._next_ticket < i + 2:  # handed over, in this order
                time.sleep(0.001)
        for t in threads:
            t.join(30)
        # one window throughout: each batch writes its 200 tasks and the window's newest row
        assert [results[i] for i in range(3)] == [{"events": 200, "dead_letters": 0, "rows": 201}] * 3
        assert engine.call("expire", 10_000) == {"rows": 0}  # and a command after them waits its turn
    finally:
        engine.close()


def test_spans_without_their_task_are_written_by_expire_after_the_grace(settings):
    topics = Topics(settings.topic_prefix)
    engine = Engine(WorkerSettings(**{**settings.__dict__, "grace_ms": 1_000}))
    engine.ensure_topics()
    try:
        assert engine.batch(messages(settings, [("span", span("s-lone", "t-never"))]), 10_000)["rows"] == 0
        assert engine.expire(10_500) == {"rows": 0}  # within the grace
        assert engine.expire(11_500) == {"rows": 1}
        assert engine.expire(12_500) == {"rows": 0}  # written once
    finally:
        engine.close()
    spans = json_rows(consume_raw(settings.bootstrap, topics.span_rows, until=lambda ms: len(json_rows(ms)) >= 1, timeout=10))
    assert [(r["event_id"], r["orphan"]) for r in spans] == [("s-lone", True)]


def test_keys_idle_for_the_retention_period_are_forgotten_in_memory_and_in_the_changelog(settings):
    engine = Engine(WorkerSettings(**{**settings.__dict__, "retention_ms": 60_000}))
    engine.ensure_topics()
    try:
        engine.batch(messages(settings, [("task", task("t1", 0))], key=b"s:idle"), 1_000_000)
        engine.batch(messages(settings, [("task", task("t2", 0, session="busy"))], key=b"s:busy", first_offset=1), 1_040_000)
        engine.expire(1_050_000)  # the first sweep: nothing idle that long yet
        assert engine.store.get(1, b"s:idle") is not None
        engine.batch(messages(settings, [("task", task("t3", MIN, session="busy"))], key=b"s:busy", first_offset=2), 1_080_000)
        engine.expire(1_120_000)  # a minute later: "idle" has had no event for 120 s, "busy" for 40 s
        assert engine.store.get(1, b"s:idle") is None and engine.store.get(1, b"s:busy") is not None
    finally:
        engine.close()
    again = Engine(settings)  # a restarted worker reads the tombstone: the key stays forgotten
    try:
        again.store.recover(1)
        assert again.store.get(1, b"s:idle") is None and again.store.get(1, b"s:busy") is not None
    finally:
        again.close()


def test_the_engine_process_answers_like_the_engine_and_reports_failures(settings):
    engine = start_engine(settings)
    assert isinstance(engine, EngineProcess)
    try:
        engine.call("ensure_topics")
        result = engine.call("batch", messages(settings, [("task", task("t1", 0))]), 1_000)
        assert result == {"events": 1, "dead_letters": 0, "rows": 2}
        with pytest.raises(ValueError, match="unknown engine command"):
            engine.call("close_everything")
        # a failure comes back as an EngineError with its reason; later commands are refused
        # (a failed batch may have left rows unacknowledged, and no state write may come
        # before them): the worker stops and its restart reads again from committed offsets
        with pytest.raises(EngineError, match="StateStoreError"):
            engine.call("batch", messages(settings, [("task", task("t9", 0))], partition=97), 1_000)
        with pytest.raises(EngineError, match="an earlier command failed: .*StateStoreError"):
            engine.call("batch", messages(settings, [("task", task("t2", MIN))], first_offset=1), 2_000)
        with pytest.raises(EngineError, match="an earlier command failed"):
            engine.call("expire", 0)
    finally:
        engine.close()
        engine.close()  # idempotent
    with pytest.raises(EngineError, match="closed"):
        engine.call("expire", 0)


def test_an_event_too_large_to_send_again_whole_becomes_a_dead_letter_cut_short(settings):
    """A poison value larger than the engine may produce (the embedded broker took it; Kafka's
    default limit is 1 MB): sent whole, it failed the engine, at every restart. Its dead letter
    keeps its first DEAD_LETTER_BYTES and says how long it was; the batch, and the ones after
    it, go on."""
    from phospho_stream._engine import DEAD_LETTER_BYTES, MAX_REQUEST_BYTES

    topics = Topics(settings.topic_prefix)
    engine = Engine(settings)
    engine.ensure_topics()
    huge = b"\x00\x00\x00\x00\x07" + os.urandom(MAX_REQUEST_BYTES)
    batch = [(topics.tasks, 0, 5, b"k" * (DEAD_LETTER_BYTES + 10), huge), *messages(settings, [("task", task("big1", 0))])]
    try:
        assert engine.batch(batch, 1_000) == {"events": 2, "dead_letters": 1, "rows": 2}
        assert engine.batch(messages(settings, [("task", task("big2", MIN))], first_offset=1), 2_000)["rows"] == 2
    finally:
        engine.close()
    [dead] = consume_raw(settings.bootstrap, topics.dead_letters, until=lambda ms: len(ms) >= 1, timeout=10)
    headers = dict(dead.headers())
    assert dead.value() == huge[:DEAD_LETTER_BYTES] and dead.key() == b"k" * DEAD_LETTER_BYTES
    assert headers["value_bytes"] == str(len(huge)).encode() and headers["key_bytes"] == str(DEAD_LETTER_BYTES + 10).encode()
    assert headers["source_offset"] == b"5" and b"value cut to its first" in headers["reason"]
    tasks = json_rows(consume_raw(settings.bootstrap, topics.task_rows, until=lambda ms: len(json_rows(ms)) >= 2, timeout=10))
    assert {r["task_id"] for r in tasks} == {"big1", "big2"}


def test_a_dead_engine_process_is_an_engine_error(settings):
    engine = EngineProcess(settings)
    try:
        engine.call("expire", 0)
        os.kill(engine.pid, signal.SIGKILL)
        with pytest.raises(EngineError, match="gone"):
            engine.call("expire", 0)
    finally:
        engine.close()


def test_an_engine_that_cannot_start_says_why(settings):
    bad = WorkerSettings(settings.bootstrap, topic_prefix=settings.topic_prefix, registry_url="not a url at all")
    engine = EngineProcess(bad)
    try:
        with pytest.raises(EngineError, match="could not start"):
            engine.call("expire", 0)
    finally:
        engine.close()


def test_the_thread_engine_is_the_same_engine(settings):
    engine = start_engine(WorkerSettings(**{**settings.__dict__, "engine": "thread"}))
    assert isinstance(engine, ThreadEngine)
    try:
        engine.call("ensure_topics")
        assert engine.call("batch", messages(settings, [("task", task("t1", 0))]), 1_000)["rows"] == 2
        with pytest.raises(EngineError, match="StateStoreError"):
            engine.call("batch", messages(settings, [("task", task("t9", 0))], partition=97), 1_000)
    finally:
        engine.close()


def test_a_bad_engine_setting_is_a_clear_error():
    with pytest.raises(ValueError, match="PHOSPHO_WORKER_ENGINE must be one of process, thread"):
        WorkerSettings("localhost:9092", engine="fork")


def test_the_engine_process_dies_with_its_worker(settings):
    """A worker killed with -9 leaves no engine behind to write stale state."""
    code = textwrap.dedent(f"""
        import sys, time
        from phospho_stream._engine_process import EngineProcess
        from phospho_stream.settings import WorkerSettings
        engine = EngineProcess(WorkerSettings({settings.bootstrap!r}, topic_prefix={settings.topic_prefix!r}))
        engine.call("expire", 0)
        print(engine.pid, flush=True)
        time.sleep(120)
    """)
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        os.kill(child, 0)  # alive
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the engine process {child} outlived its worker")
    finally:
        parent.kill()


def test_a_worker_whose_engine_dies_exits_with_an_error(broker, tmp_path):
    """It stops instead of acknowledging anything more; its restart reads from the last commit."""
    prefix = f"d{uuid.uuid4().hex[:8]}."
    broker.create_topics(Topics(prefix).all())
    env = {**os.environ, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_TOPIC_PREFIX": prefix,
           "PHOSPHO_APP_ID": f"app-{prefix}", "PHOSPHO_DATA_DIR": str(tmp_path), "PHOSPHO_JOIN_EXPIRE_EVERY_SECONDS": "0.5"}
    cli = os.path.join(os.path.dirname(sys.executable), "phospho-stream")
    worker = subprocess.Popen([cli, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, engine_pid = time.monotonic() + 30, None
        while engine_pid is None and time.monotonic() < deadline:
            kids = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True).stdout.split()
            engines = [int(k) for k in kids if "resource_tracker" not in open(f"/proc/{k}/cmdline").read()]
            engine_pid = engines[0] if engines else None
            time.sleep(0.2)
        assert engine_pid, "no engine process"
        time.sleep(2)  # the worker runs
        os.kill(engine_pid, signal.SIGKILL)
        out, _ = worker.communicate(timeout=60)
        assert worker.returncode == 1, out
        assert "the engine failed" in out and "gone" in out
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_commands_run_in_the_order_they_were_submitted_whichever_thread_waits_first():
    """Two batches can be in the engine's queue; the second must never run before the first."""
    import threading

    from phospho_stream._engine_process import _Turns

    turns, ran = _Turns(), []
    tickets = [turns.ticket() for _ in range(5)]

    def run(ticket: int) -> None:
        turns.wait_turn(ticket)
        ran.append(ticket)
        turns.done()

    threads = [threading.Thread(target=run, args=(t,)) for t in reversed(tickets)]  # the last waits first
    for thread in threads:
        thread.start()
        time.sleep(0.01)
    for thread in threads:
        thread.join(5)
    assert ran == tickets


def test_the_engine_process_keeps_order_with_two_batches_queued(settings):
    """Batches handed over from two threads at once are processed in submission order: the
    second batch's task joins the window the first one opened."""
    import threading

    engine = EngineProcess(settings)
    topics = Topics(settings.topic_prefix)
    try:
        engine.call("ensure_topics")
        first = messages(settings, [("task", task(f"t{i}", i * MIN)) for i in range(300)])
        second = messages(settings, [("task", task("late", 300 * MIN))], first_offset=300)
        results = {}
        a = threading.Thread(target=lambda: results.update(a=engine.call("batch", first, 1_000)))
        a.start()
        while engine._turns._next_ticket < 2:  # `first` handed over (ticket 1, after ensure_topics)
            time.sleep(0.001)
        results["b"] = engine.call("batch", second, 2_000)  # queued behind it
        a.join(30)
        # in order: 300 tasks and their window's newest row, then the late task and its window
        # (the other way round, the first batch would also re-write "late", whose window id changes)
        assert results["a"]["rows"] == 300 + 1 and results["b"]["rows"] == 2
    finally:
        engine.close()
    sessions = json_rows(consume_raw(settings.bootstrap, topics.session_rows, until=lambda ms: any(r["task_count"] == 301 for r in json_rows(ms)), timeout=10))
    assert max(sessions, key=lambda r: r["version"])["task_count"] == 301
