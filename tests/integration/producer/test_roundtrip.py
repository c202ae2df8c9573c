"""Round trip through the session broker: what phospho.log / phospho.user_feedback returned is
what a consumer reads back, field by field, on the partition Kafka's murmur2 partitioner picks."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import Consumer

from phospho_schemas.models import FeedbackEvent, TaskEvent

from tests.support.kafka import consume

pytestmark = pytest.mark.integration

N_TASKS = 300
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- Kafka's murmur2 partitioner, written from org.apache.kafka.common.utils.Utils.murmur2 ---------

def murmur2(data: bytes) -> int:
    """Utils.murmur2 as a 32-bit unsigned value."""
    length = len(data)
    seed, m, r = 0x9747B28C, 0x5BD1E995, 24
    h = (seed ^ length) & 0xFFFFFFFF
    for i in range(length // 4):
        i4 = i * 4
        k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24)
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    tail, rest = length & ~3, length % 4
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def signed32(x: int) -> int:
    return x - (1 << 32) if x & 0x80000000 else x


def kafka_partition(key: bytes, partitions: int) -> int:
    """DefaultPartitioner (Java, aiokafka): toPositive(murmur2(key)) % numPartitions."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def test_murmur2_matches_kafka_test_vectors() -> None:
    # org.apache.kafka.common.utils.UtilsTest#testMurmur2
    vectors = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    for data, expected in vectors.items():
        assert signed32(murmur2(data)) == expected, data


# -- expectations, computed independently of the SDK's code ---------------------------------------

def flatten(extras: dict[str, Any]) -> dict[str, str]:
    """TaskEvent.metadata as the avsc documents it: every other key, flattened with dotted keys,
    a 'metadata' dict's keys without the 'metadata.' prefix, strings as is, the rest JSON text."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            out[prefix] = value

    if isinstance(extras.get("metadata"), dict):
        walk("", extras["metadata"])
    for key, value in extras.items():
        if key != "metadata":
            walk(key, value)
    return out


def loads(text: str | None) -> Any:
    """JSON text -> value; an absent field (None) stays None, i.e. JSON null."""
    return None if text is None else json.loads(text)


def ms(value: datetime) -> int:
    return (value - EPOCH) // timedelta(milliseconds=1)


def chat_completion(i: int, text: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{i}",
        "object": "chat.completion",
        "created": 1_700_000_000 + i,
        "model": f"gpt-4o-mini-{i % 3}",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text, "refusal": None}}],
        "usage": {"prompt_tokens": 10 + i, "completion_tokens": 5 + i % 7, "total_tokens": 15 + i + i % 7},
    }


def log_many(sdk: Any, run: str) -> list[dict[str, Any]]:
    """Log N_TASKS tasks of varied shapes; returns one case dict per task."""
    cases = []
    for i in range(N_TASKS):
        shape = i % 6
        kwargs: dict[str, Any] = {}
        case: dict[str, Any] = {"i": i, "shape": shape}
        extras: dict[str, Any] = {
            "metadata": {"seq": i, "run": run, "tenant": {"id": f"t{i % 4}", "tier": ["gold", i % 2 == 0]},
                         "empty": {}},
            "tags": [f"tag{i % 3}", "é✓"],
            "score": i / 7,
            "is_test": True,
            "nothing": None,
            "nested": {"a": {"b": [1, 2, {"c": "d"}]}, "n": i},
        }
        if shape in (0, 3, 4):
            kwargs["session_id"] = f"{run}-session-{i % 11}"
        if shape in (0, 1, 3, 5):
            kwargs["user_id"] = f"{run}-user-{i % 13}"
        if shape == 3:
            kwargs["task_id"] = f"{run}-task-{i}"
        if shape == 4:
            kwargs["version_id"] = f"v-{i % 2}"
        if shape == 4:
            kwargs["created_at"] = 1_700_000_000.25 + i  # unix seconds
            case["created_at_ms"] = round((1_700_000_000.25 + i) * 1000)
        if shape == 5:
            kwargs["created_at"] = 1_650_000_000 + i
            case["created_at_ms"] = (1_650_000_000 + i) * 1000

        if shape in (0, 1, 2):
            inp: Any = f"{run} plain question {i} — ünïcode"
            out: Any = f"plain answer {i}" if shape != 2 else None
        elif shape == 3:
            inp = [{"role": "system", "content": f"You are bot {i}."},
                   {"role": "user", "content": f"first {i}"},
                   {"role": "assistant", "content": "ok"},
                   {"role": "user", "content": f"last question {i}"}]
            out = chat_completion(i, f"chat answer {i}")
            case.update(text_in=f"last question {i}", system=f"You are bot {i}.")
        else:
            inp = {"model": "gpt-4o-mini", "temperature": 0.2,
                   "messages": [{"role": "system", "content": f"System prompt {i}"},
                                {"role": "user", "content": f"dict question {i}"}]}
            out = chat_completion(i, f"dict answer {i}")
            case.update(text_in=f"dict question {i}", system=f"System prompt {i}")
        before = int(time.time() * 1000)
        returned = sdk.log(input=inp, output=out, **kwargs, **extras)
        after = int(time.time() * 1000)
        case.update(kwargs=kwargs, extras=extras, input=inp, output=out, returned=returned,
                    before_ms=before, after_ms=after)
        cases.append(case)
    return cases


@pytest.fixture(scope="module")
def roundtrip(sdk, broker):
    run = f"rt{uuid.uuid4().hex[:8]}"
    cases = log_many(sdk, run)
    feedback = []
    for case in cases[::3]:
        i, task_id = case["i"], case["returned"]["task_id"]
        if i % 2:
            fb = sdk.user_feedback(task_id=task_id, flag="failure", notes=f"bad {i}", source="reviewer")
            feedback.append((fb, {"flag": "failure", "raw_flag": None, "notes": f"bad {i}", "source": "reviewer"}, case))
        else:
            fb = sdk.user_feedback(task_id=task_id, raw_flag="👍")
            feedback.append((fb, {"flag": "success", "raw_flag": "👍", "notes": None, "source": "user"}, case))
    assert sdk.flush(30)

    task_ids = {c["returned"]["task_id"] for c in cases}
    assert len(task_ids) == N_TASKS

    def ours(results: list) -> tuple[int, int]:
        t = sum(1 for k, r, _ in results if k == "task" and r["task_id"] in task_ids)
        f = sum(1 for k, r, _ in results if k == "feedback" and r["task_id"] in task_ids)
        return t, f

    got = consume(broker.bootstrap, [broker.topics.tasks, broker.topics.feedback],
                  until=lambda rs: ours(rs) >= (N_TASKS, len(feedback)), timeout=30)
    tasks = [(r, m) for k, r, m in got if k == "task" and r["task_id"] in task_ids]
    fbs = [(r, m) for k, r, m in got if k == "feedback" and r["task_id"] in task_ids]
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "meta", "log_level": 0})
    try:
        meta = consumer.list_topics(timeout=10)
        partitions = {t: len(meta.topics[t].partitions) for t in (broker.topics.tasks, broker.topics.feedback)}
    finally:
        consumer.close()
    return {"cases": cases, "feedback": feedback, "tasks": tasks, "fbs": fbs, "partitions": partitions, "run": run}


def test_every_task_arrives_exactly_once(roundtrip) -> None:
    tasks = roundtrip["tasks"]
    assert len(tasks) == N_TASKS
    assert sorted(r["task_id"] for r, _ in tasks) == sorted(c["returned"]["task_id"] for c in roundtrip["cases"])
    assert sorted(int(r["metadata"]["seq"]) for r, _ in tasks) == list(range(N_TASKS))
    event_ids = [r["event_id"] for r, _ in tasks] + [r["event_id"] for r, _ in roundtrip["fbs"]]
    assert len(set(event_ids)) == len(event_ids)
    assert all(len(e) == 32 and int(e, 16) >= 0 for e in event_ids)


def test_task_fields_match_what_log_returned(sdk, roundtrip) -> None:
    by_id = {r["task_id"]: (r, m) for r, m in roundtrip["tasks"]}
    problems: list[str] = []

    def check(case: dict, what: str, got: Any, want: Any) -> None:
        if got != want:
            problems.append(f"task #{case['i']} (shape {case['shape']}) {what}: got {got!r}, want {want!r}")

    for case in roundtrip["cases"]:
        ret, kwargs = case["returned"], case["kwargs"]
        record, msg = by_id[ret["task_id"]]
        TaskEvent.model_validate(record)
        check(case, "project_id", record["project_id"], "test-project")
        if "task_id" in kwargs:
            check(case, "custom task_id", record["task_id"], kwargs["task_id"])
        check(case, "session_id", record["session_id"], ret["session_id"])
        generated = "session_id" not in kwargs
        check(case, "session_id_generated", record["session_id_generated"], generated)
        if generated:
            check(case, "generated session id format", record["session_id"].startswith("session_"), True)
        else:
            check(case, "app session_id", record["session_id"], kwargs["session_id"])
        check(case, "user_id", record["user_id"], kwargs.get("user_id"))
        check(case, "user_id == returned", record["user_id"], ret["user_id"])
        check(case, "version_id", record["version_id"], kwargs.get("version_id", "test-version"))
        check(case, "version_id == returned", record["version_id"], ret["version_id"])
        check(case, "input", record["input"], ret["input"])
        check(case, "output", record["output"], ret["output"])

        # the text phospho extracts, stated independently
        if case["shape"] in (0, 1, 2):
            check(case, "plain input", record["input"], case["input"])
            check(case, "plain output", record["output"], case["output"])
            for field in ("model", "system_prompt", "prompt_tokens", "completion_tokens", "total_tokens"):
                check(case, field, record[field], None)
        else:
            usage = case["output"]["usage"]
            check(case, "input text", record["input"], case["text_in"])
            check(case, "output text", record["output"], case["output"]["choices"][0]["message"]["content"])
            check(case, "system_prompt", record["system_prompt"], case["system"])
            check(case, "model", record["model"], case["output"]["model"])
            check(case, "model == returned", record["model"], ret["model"])
            for field in ("prompt_tokens", "completion_tokens", "total_tokens"):
                check(case, field, record[field], usage[field])
                check(case, f"{field} == returned", record[field], ret[field])

        # raw values: lossless JSON text of what log returned; null when the raw value is the
        # very string of the text field (task_event.avsc)
        for field, text_field, logged in (("raw_input", "input", case["input"]), ("raw_output", "output", case["output"])):
            raw = ret[field]
            if raw is None or (isinstance(raw, str) and raw == ret[text_field]):
                check(case, f"{field} (null: nothing beyond {text_field})", record[field], None)
            else:
                check(case, field, loads(record[field]), raw)
                check(case, f"{field} is the logged value", loads(record[field]), logged)
        check(case, "raw_input_type_name", record["raw_input_type_name"], type(case["input"]).__name__)
        check(case, "raw_output_type_name", record["raw_output_type_name"], type(case["output"]).__name__)

        # metadata: every other keyword, lossless JSON and a flattened string map
        extras = case["extras"]
        check(case, "metadata_json", json.loads(record["metadata_json"]), extras)
        want_flat = flatten(extras)
        check(case, "metadata keys", sorted(record["metadata"]), sorted(want_flat))
        for key, value in want_flat.items():
            got = record["metadata"].get(key)
            if isinstance(value, str):
                check(case, f"metadata[{key}]", got, value)
            else:
                check(case, f"metadata[{key}] as JSON", None if got is None else json.loads(got), value)

        # times
        client_ms = ms(record["client_created_at"])
        check(case, "client_created_at within the log call", case["before_ms"] <= client_ms <= case["after_ms"], True)
        check(case, "client_created_at == returned (s)", client_ms // 1000, ret["client_created_at"])
        created_ms = ms(record["created_at"])
        check(case, "created_at", created_ms, case.get("created_at_ms", client_ms))
        check(case, "last_update", record["last_update"], None)
        check(case, "sent_at >= client_created_at", ms(record["sent_at"]) >= client_ms, True)

        check(case, "stream", record["stream"], False)
        check(case, "errors", record["errors"], [])
        check(case, "sdk_version", record["sdk_version"], sdk.__version__)

        # message key (the task_id) and partition
        check(case, "message key", msg.key(), record["task_id"].encode("utf-8"))
        check(case, "partition (murmur2)", msg.partition(),
              kafka_partition(record["task_id"].encode("utf-8"), roundtrip["partitions"][msg.topic()]))
    assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(problems[:40])


def test_feedback_fields_and_partition(roundtrip) -> None:
    fbs = roundtrip["fbs"]
    feedback = roundtrip["feedback"]
    assert len(fbs) == len(feedback)
    tasks = {r["task_id"]: (r, m) for r, m in roundtrip["tasks"]}
    by_task = {r["task_id"]: (r, m) for r, m in fbs}
    assert len(by_task) == len(feedback)
    problems: list[str] = []
    for returned, want, case in feedback:
        task_id = case["returned"]["task_id"]
        record, msg = by_task[task_id]
        task, task_msg = tasks[task_id]
        FeedbackEvent.model_validate(record)
        got = {k: record[k] for k in want}
        if got != want:
            problems.append(f"feedback for #{case['i']}: {got} != {want}")
        if returned is None or returned["flag"] != want["flag"] or returned["task_id"] != task_id:
            problems.append(f"user_feedback returned {returned!r}")
        # keyed by its task_id, as its task: same partition; no session or user of its own
        if (record["session_id"], record["user_id"]) != (None, None):
            problems.append(f"feedback for #{case['i']}: session/user {record['session_id']}/{record['user_id']}")
        if msg.key() != task_id.encode() or msg.key() != task_msg.key():
            problems.append(f"feedback for #{case['i']}: key {msg.key()!r} != task key {task_msg.key()!r}")
        want_partition = kafka_partition(task_msg.key(), roundtrip["partitions"][msg.topic()])
        if msg.partition() != want_partition:
            problems.append(f"feedback for #{case['i']}: partition {msg.partition()} != murmur2 {want_partition}")
        if record["errors"] != [] or record["project_id"] != "test-project":
            problems.append(f"feedback for #{case['i']}: {record['errors']} {record['project_id']}")
        if not ms(record["created_at"]) <= ms(record["sent_at"]):
            problems.append(f"feedback for #{case['i']}: created_at after sent_at")
    assert not problems, "\n".join(problems[:40])


def test_keys_spread_over_partitions(roundtrip) -> None:
    """Sanity of the murmur2 check above: the keys do land on several partitions."""
    assert len({m.partition() for _, m in roundtrip["tasks"]}) == roundtrip["partitions"][roundtrip["tasks"][0][1].topic()]


def test_created_at_in_other_units_never_makes_an_unreadable_event(broker, tmp_path) -> None:
    """created_at is unix seconds (milliseconds are accepted too). Timestamps in microseconds or
    nanoseconds (time.time_ns()) and far-future values are easy mistakes: each event must still
    be readable by EventDecoder, with either the right instant or the client time plus a note in
    `errors`. Runs in a child process on its own topics: an unreadable event must not poison the
    session's phospho.tasks for the other tests."""

    from phospho_schemas import DecodeError, EventDecoder, Topics

    from tests.support.sdk_driver import SdkProcess, clean_env

    topics = Topics(f"ca{uuid.uuid4().hex[:8]}.")
    broker.create_topics(topics.all())
    now_s = time.time()
    values = {
        "seconds": now_s,
        "milliseconds": now_s * 1e3,
        "microseconds": now_s * 1e6,
        "nanoseconds": now_s * 1e9,
        "year 3000 in seconds": 32_503_680_000.0,
        "1e30": 1e30,
    }
    calls = [{"input": name, "session_id": "created-at", "created_at": value} for name, value in values.items()]
    init = {"project_id": "p", "bootstrap_servers": broker.bootstrap, "spool_dir": str(tmp_path / "spool"),
            "topic_prefix": topics.prefix}
    with SdkProcess(init, clean_env(XDG_STATE_HOME=str(tmp_path / "state"))) as child:
        child.call("log_calls", calls=calls)
        assert child.call("flush", timeout=20)["result"] is True
        child.exit()

    class Tolerant:
        def decode(self, value):
            try:
                return EventDecoder().decode(value)
            except DecodeError as exc:
                return "unreadable", {"error": str(exc), "value": value}

    got = consume(broker.bootstrap, [topics.tasks], decoder=Tolerant(), until=lambda rs: len(rs) >= len(values), timeout=20)
    assert len(got) == len(values)
    unreadable = [r["error"] for k, r, _ in got if k == "unreadable"]
    assert not unreadable, f"{len(unreadable)} of {len(values)} events cannot be decoded: {unreadable}"
    now_ms = round(now_s * 1000)
    exact = {"seconds": now_ms, "milliseconds": now_ms, "year 3000 in seconds": 32_503_680_000_000}
    for _, record, _ in got:
        name, created = record["input"], ms(record["created_at"])
        if name in exact:
            assert abs(created - exact[name]) <= 1, (name, created)
        else:  # the instant meant (µs, ns) or the client time: both are "now"
            assert abs(created - now_ms) < 60_000, (name, created)
        if name == "1e30":
            assert record["errors"], "created_at=1e30 replaced without a note in errors"
