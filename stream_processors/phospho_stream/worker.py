"""The faust layer, kept thin: one agent over the three co-partitioned input topics.

Per batch (`take_events`): decode each event (undecodable ones go to the dead-letter topic with
headers saying why and where they came from); group by Kafka key; apply `processing.process`
to each key's `KeyState` (in memory, recovered from the state changelog when a partition is
first seen: `state_store.py`); write the changed states, then send the rows as JSON messages. A timer writes spans and feedback whose task never came (orphans). faust
flushes its producer before committing input offsets: rows are delivered at least once, and
storage is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import faust
import orjson

from phospho_schemas import DecodeError, EventDecoder, Topics

from ._registry import registry_from_env
from .processing import RAW, KeyState, Output, expire_state, process
from .state_codec import dump_state, load_state
from .state_store import StateStore

__all__ = ["WorkerSettings", "build_app", "json_messages"]

logger = logging.getLogger("phospho.worker")


@dataclass(frozen=True)
class WorkerSettings:
    bootstrap: str
    topic_prefix: str = "phospho."
    app_id: str = "phospho-pipeline"
    partitions: int = 4
    batch_size: int = 2_000
    batch_seconds: float = 0.5
    gap_ms: int = 30 * 60 * 1000
    grace_ms: int = 5 * 60 * 1000
    expire_every: float = 5.0
    retention_ms: int = 24 * 3600 * 1000
    # replication factor of the state changelog topic (-1: the broker's default)
    state_replication: int = -1
    # bytes per producer batch of the row topics; 1 puts every row message in a batch of its
    # own, which keeps lag exact on the embedded Tansu broker (its high watermark stops at its
    # last batch's first record). Row messages are few and large, so this costs little.
    producer_batch_bytes: int = 16_384

    @classmethod
    def from_env(cls, bootstrap: str, **overrides: Any) -> WorkerSettings:
        env = os.environ
        values: dict[str, Any] = {
            "topic_prefix": env.get("PHOSPHO_TOPIC_PREFIX") or "phospho.",
            "app_id": env.get("PHOSPHO_APP_ID") or "phospho-pipeline",
            "partitions": int(env.get("PHOSPHO_TOPIC_PARTITIONS") or 4),
            "gap_ms": int(float(env.get("PHOSPHO_SESSION_TIMEOUT_MINUTES") or 30) * 60_000),
            "state_replication": int(env.get("PHOSPHO_STATE_REPLICATION") or -1),
            "producer_batch_bytes": int(env.get("PHOSPHO_WORKER_PRODUCER_BATCH_BYTES") or 16_384),
            "grace_ms": int(float(env.get("PHOSPHO_JOIN_GRACE_SECONDS") or 300) * 1000),
            "expire_every": float(env.get("PHOSPHO_JOIN_EXPIRE_EVERY_SECONDS") or 5),
            "retention_ms": int(float(env.get("PHOSPHO_STATE_RETENTION_HOURS") or 24) * 3600 * 1000),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(bootstrap=bootstrap, **values)


#: bytes of JSON rows per output message; a batch's rows are split to stay under it (Kafka's
#: default message limit is 1 MB), and a single larger row goes alone (up to MAX_REQUEST_BYTES)
MESSAGE_BYTES = 512 * 1024
MAX_REQUEST_BYTES = 8 * 1024 * 1024


def json_messages(rows: list[dict[str, Any]], budget: int = MESSAGE_BYTES) -> list[bytes]:
    """The rows as JSON-array messages of at most `budget` bytes each (a larger row alone)."""
    messages, parts, size = [], [], 2
    for row in rows:
        part = orjson.dumps(row, default=str)
        if parts and size + len(part) + 1 > budget:
            messages.append(b"[" + b",".join(parts) + b"]")
            parts, size = [], 2
        parts.append(part)
        size += len(part) + 1
    if parts:
        messages.append(b"[" + b",".join(parts) + b"]")
    return messages


def build_app(settings: WorkerSettings, registry: Any = None, datadir: str | None = None) -> faust.App:
    topics = Topics(settings.topic_prefix)
    extra = {"datadir": datadir} if datadir else {}
    app = faust.App(
        settings.app_id,
        **extra,
        broker=f"kafka://{settings.bootstrap}",
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        web_enabled=False,
        topic_partitions=settings.partitions,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=6,
        broker_rebalance_timeout=6,
        broker_heartbeat_interval=1,
        stream_wait_empty=False,
        worker_redirect_stdouts=False,  # the CLI's own output stays on stdout
        producer_max_request_size=MAX_REQUEST_BYTES,
        producer_max_batch_size=settings.producer_batch_bytes,
    )
    inputs = app.topic(topics.tasks, topics.spans, topics.feedback, key_serializer="raw", value_serializer="raw")
    # KeyStates by input partition and message key, durable in a compacted changelog written once
    # per batch (state_store.py says why not a faust Table); keys are the input key bytes, and a
    # key's changelog partition is its input partition, so an owner reads back exactly its own
    decoder = EventDecoder(registry=registry)
    store = StateStore(settings.bootstrap, f"{settings.app_id}-state-changelog", settings.partitions,
                       encode=dump_state, decode=lambda blob: load_state(blob, decoder), replication=settings.state_replication)
    lock = asyncio.Lock()  # the agent and the orphan timer take turns with the store

    @app.on_partitions_revoked.connect
    async def forget(app_: Any, revoked: set[Any], **_: Any) -> None:
        # faust has let the agent finish its batch (and we flushed the state) before this signal
        store.drop({tp.partition for tp in revoked if tp.topic in inputs.topics})

    async def ensure_loaded(partitions: set[int]) -> None:
        for p in sorted(partitions):
            if not store.is_loaded(p):
                keys = await asyncio.to_thread(store.recover, p)
                for key, state in store.items(p):  # the orphan timer's view of what waits
                    note_waiting(p, key, state)
                logger.info("state of partition %s recovered: %s keys", p, keys)

    # (partition, key) whose state holds spans or feedback waiting for their task: the only
    # ones the orphan timer looks at
    waiting: set[tuple[int, bytes]] = set()

    def note_waiting(partition: int, key: bytes, state: KeyState) -> None:
        if any(j.task is None and not j.orphans_written for j in state.joins.values()):
            waiting.add((partition, key))
        else:
            waiting.discard((partition, key))

    outputs = {name: app.topic(getattr(topics, f"{name}_rows"), value_serializer="raw", key_serializer="raw")
               for name in ("task", "span", "feedback", "session")}
    dead_letters = app.topic(topics.dead_letters, value_serializer="raw", key_serializer="raw")

    async def send(out: Output) -> None:
        for name, rows in (("task", out.tasks), ("span", out.spans), ("feedback", out.feedback), ("session", out.sessions)):
            for message in json_messages(rows):
                await outputs[name].send(value=message)

    @app.task
    async def create_changelog() -> None:
        await asyncio.to_thread(store.ensure_topic)

    @app.agent(inputs)
    async def pipeline(stream: Any) -> None:
        async for events in stream.take_events(settings.batch_size, within=settings.batch_seconds):
            by_key: dict[tuple[int, bytes], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
            for event in events:
                message = event.message
                kind = topics.kind_of(message.topic)
                try:
                    _, record = decoder.decode(event.value, expected_kind=kind)
                except DecodeError as exc:
                    await dead_letters.send(key=message.key, value=event.value or b"", headers={
                        "reason": str(exc).encode(), "source_topic": message.topic.encode(),
                        "source_partition": str(message.partition).encode(),
                        "source_offset": str(message.offset).encode()})
                    continue
                record[RAW] = event.value  # the state changelog keeps these bytes, not a pickle
                key = message.key or (record.get("task_id") or "").encode("utf-8")
                by_key[(message.partition, key)].append((kind, record))
            async with lock:
                await ensure_loaded({p for p, _ in by_key})
                out, now_ms = Output(), int(time.time() * 1000)
                for (p, key), keyed in by_key.items():
                    state = store.get(p, key) or KeyState()
                    part = process(state, keyed, now_ms, settings.gap_ms, settings.retention_ms)
                    store.put(p, key, state)
                    note_waiting(p, key, state)
                    out.tasks += part.tasks
                    out.spans += part.spans
                    out.feedback += part.feedback
                    out.sessions += part.sessions
                # state first: once the rows are out, the state that made them must survive a crash
                await asyncio.to_thread(store.flush)
                await send(out)

    @app.timer(interval=settings.expire_every)
    async def orphans() -> None:
        async with lock:
            out, now_ms = Output(), int(time.time() * 1000)
            for p, key in list(waiting):
                if not store.is_loaded(p):
                    waiting.discard((p, key))
                    continue
                state = store.get(p, key)
                part = expire_state(state, now_ms, settings.grace_ms)
                if part.spans or part.feedback:
                    store.put(p, key, state)
                    out.spans += part.spans
                    out.feedback += part.feedback
                note_waiting(p, key, state)
            await asyncio.to_thread(store.flush)
            await send(out)

    return app


def run_worker(settings: WorkerSettings, loglevel: str = "warn") -> None:
    """Run one worker until interrupted (faust's own worker: signals, rebalancing, recovery)."""
    import sys
    from pathlib import Path

    # faust keeps some files per app: under the data directory, not in the current directory
    datadir = Path(os.environ.get("PHOSPHO_DATA_DIR", ".phospho")).resolve() / "faust"
    datadir.mkdir(parents=True, exist_ok=True)  # faust does not create it
    # events the SDK wrote through a schema registry are decoded with their writer schema from it
    app = build_app(settings, registry=registry_from_env(), datadir=str(datadir))
    sys.argv = [sys.argv[0], "--quiet", "worker", "-l", loglevel, "--without-web"]  # the flag beats web_enabled
    app.main()
