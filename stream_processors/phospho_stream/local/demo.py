"""`phospho-stream demo`: realistic traffic through the real phospho SDK into Kafka, read back.

Several users chat in sessions with pauses (one resumed the next day, backfilled with
created_at), answers are streamed chunk by chunk, some turns get feedback, some tasks have no
session_id (the pipeline sessionizes them per user) and a few inputs are malformed (NaN, lone
surrogates, objects that are not JSON, a 1 MB string). With no Kafka address configured it
starts the embedded broker. Then it consumes the topics back and prints what arrived.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from phospho_schemas import EventDecoder, Topics

from ..engine.registry import registry_from_env
from .broker import EmbeddedBroker

__all__ = ["run_demo", "generate_traffic"]

USERS = ["alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com", "erin@example.com"]
QUESTIONS = [
    "What is the meaning of life?", "Explain quantum computers in less than 20 words.",
    "How do I reset my password?", "Summarize this article for me.", "Translate 'good night' to French.",
    "Why is my invoice higher this month?", "Write a haiku about Kafka.", "What is the speed of light?",
]
ANSWERS = ["42.", "Qubits use superposition to compute many states at once.", "Click 'Forgot password'.",
           "It says streaming beats batching.", "Bonne nuit.", "Your plan renewed at a new rate.",
           "Logs flow on / partitions keep their order / consumers catch up.", "299,792 km/s."]


def _chunks(text: str) -> list[dict[str, Any]]:
    words = text.split(" ")
    chunks = [{"object": "chat.completion.chunk", "model": "gpt-4o-mini",
               "choices": [{"index": 0, "delta": {"content": w + (" " if i < len(words) - 1 else "")}, "finish_reason": None}]}
              for i, w in enumerate(words)]
    chunks.append({"object": "chat.completion.chunk", "model": "gpt-4o-mini",
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return chunks


def generate_traffic(phospho: Any, turns: int, seed: int = 7) -> dict[str, int]:
    """Log `turns` conversation turns (plus feedback and a few malformed events)."""
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    day = 86_400
    start = time.time() - 2 * day
    for n in range(turns):
        user = rng.choice(USERS)
        session = phospho.new_session() if rng.random() < 0.8 else None
        t = start + n * 600 + rng.randint(0, 300)
        for turn in range(rng.randint(1, 4)):
            q, a = rng.randrange(len(QUESTIONS)), rng.randrange(len(ANSWERS))
            created_at = t + turn * rng.randint(20, 240) + (day if turn == 3 else 0)  # resumed next day
            messages = [{"role": "system", "content": "You are a helpful assistant."},
                        {"role": "user", "content": QUESTIONS[q]}]
            if rng.random() < 0.4:  # a streamed answer
                stream = phospho.MutableGenerator(iter(_chunks(ANSWERS[a])), stop=lambda c: c["choices"][0]["finish_reason"] is not None)
                logged = phospho.log(input={"messages": messages, "model": "gpt-4o-mini"}, output=stream, stream=True,
                                     session_id=session, user_id=user, created_at=created_at, metadata={"channel": "web"})
                for _ in stream:
                    pass
            else:
                completion = {"id": f"chatcmpl-{uuid.uuid4().hex[:8]}", "object": "chat.completion", "model": "gpt-4o-mini",
                              "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWERS[a]}, "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 20 + q, "completion_tokens": 5 + a, "total_tokens": 25 + q + a}}
                logged = phospho.log(input={"messages": messages, "model": "gpt-4o-mini"}, output=completion,
                                     session_id=session, user_id=user, created_at=created_at,
                                     metadata={"channel": rng.choice(["web", "mobile"]), "latency_ms": rng.randint(200, 2000)})
            counts["tasks"] += 1
            if rng.random() < 0.3:
                phospho.user_feedback(logged["task_id"], raw_flag=rng.choice(["👍", "👎", "🙂"]), notes="demo feedback")
                counts["feedback"] += 1
    malformed = [
        dict(input="nan metadata", metadata={"score": math.nan, "inf": math.inf}),
        dict(input="lone surrogate \ud800 here", output="ok"),
        dict(input=object(), output={"not json": {1, 2, 3}}),
        dict(input="x" * 1_000_000, output="a 1 MB input, truncated"),
    ]
    for kwargs in malformed:
        phospho.log(user_id="mallory@example.com", **kwargs)
        counts["tasks"] += 1
        counts["malformed"] += 1
    return dict(counts)


def _consumer(bootstrap: str) -> Any:
    from confluent_kafka import Consumer

    return Consumer({"bootstrap.servers": bootstrap, "group.id": f"demo-{uuid.uuid4().hex}",
                     "enable.auto.commit": False, "log_level": 0})


def _end_offsets(bootstrap: str, topics: list[str]) -> list[Any]:
    """Where each partition ends now: the demo reads its own events from there."""
    from confluent_kafka import TopicPartition

    consumer = _consumer(bootstrap)
    try:
        out = []
        for topic in topics:
            for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                out.append(TopicPartition(topic, p, max(low, high - 1)))  # Tansu may under-report by a batch
        return out
    finally:
        consumer.close()


def _read_back(bootstrap: str, start: list[Any], version_id: str, expected: int, timeout: float = 60.0) -> list[tuple[str, dict[str, Any]]]:
    """This run's events: tasks with its version_id and the feedback on those tasks."""
    consumer = _consumer(bootstrap)
    consumer.assign(start)
    decoder, deadline = EventDecoder(registry=registry_from_env()), time.monotonic() + timeout
    tasks: dict[str, dict[str, Any]] = {}
    feedback: list[dict[str, Any]] = []
    while len(tasks) + len(feedback) < expected and time.monotonic() < deadline:
        for msg in consumer.consume(5_000, 0.5):
            if msg.error():
                continue
            kind, record = decoder.decode(msg.value())
            if kind == "task" and record["version_id"] == version_id:
                tasks[record["event_id"]] = record
            elif kind == "feedback":
                feedback.append(record)
        ours = {t["task_id"] for t in tasks.values()}
        feedback = [f for f in feedback if f["task_id"] in ours]
    consumer.close()
    return [("task", t) for t in tasks.values()] + [("feedback", f) for f in feedback]


def run_demo(events: int = 200) -> int:
    import phospho

    bootstrap = os.environ.get("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS") or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    data_dir = Path(os.environ.get("PHOSPHO_DATA_DIR", ".phospho"))
    broker = None
    if not bootstrap:
        broker = EmbeddedBroker(topic_prefix=os.environ.get("PHOSPHO_TOPIC_PREFIX") or "phospho.")
        bootstrap = broker.start()
        print(f"embedded Kafka-protocol broker (Tansu) on {bootstrap}")
    try:
        topics = Topics(os.environ.get("PHOSPHO_TOPIC_PREFIX") or "phospho.")
        start = _end_offsets(bootstrap, [topics.tasks, topics.feedback])
        version_id = f"demo-{uuid.uuid4().hex[:12]}"  # tells this run's events from any other's
        phospho.init(project_id=os.environ.get("PHOSPHO_PROJECT_ID", "demo-project"), bootstrap_servers=bootstrap,
                     spool_dir=os.environ.get("PHOSPHO_SPOOL_DIR", str(data_dir / "spool")), version_id=version_id)
        started = time.perf_counter()
        counts = generate_traffic(phospho, events)
        delivered = phospho.flush(60)
        elapsed = time.perf_counter() - started
        stats = phospho.stats()
        print(f"logged {counts['tasks']} tasks ({counts['malformed']} malformed) and {counts.get('feedback', 0)} "
              f"feedback events in {elapsed:.2f}s; flush delivered everything: {delivered}")
        print("SDK counters:", json.dumps({k: stats[k] for k in ("queued", "delivered", "spooled", "failed")}))
        records = _read_back(bootstrap, start, version_id, counts["tasks"] + counts.get("feedback", 0))
        kinds = Counter(kind for kind, _ in records)
        tasks = [r for kind, r in records if kind == "task"]
        print(f"read back from Kafka: {dict(kinds)}")
        print(f"{'user':22} {'tasks':>5} {'sessions':>8} {'streamed':>8} {'tokens':>6}")
        for user in sorted({t["user_id"] for t in tasks}):
            mine = [t for t in tasks if t["user_id"] == user]
            print(f"{user:22} {len(mine):5d} {len({t['session_id'] for t in mine}):8d} "
                  f"{sum(t['stream'] for t in mine):8d} {sum(t['total_tokens'] or 0 for t in mine):6d}")
        coerced = [t for t in tasks if t["errors"]]
        print(f"{len(coerced)} tasks carry coercion notes, e.g.: {coerced[0]['errors'][:2] if coerced else []}")
        ok = (delivered and stats["failed"] == 0 and len(tasks) == counts["tasks"]
              and kinds["feedback"] == counts.get("feedback", 0))
        print("demo OK" if ok else "demo FAILED: not every event arrived")
        return 0 if ok else 1
    finally:
        phospho.shutdown(5)
        if broker is not None:
            broker.stop()
