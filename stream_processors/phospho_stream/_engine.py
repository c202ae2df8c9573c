"""What a worker does with a batch of input messages, without faust: decode each event (an
undecodable one becomes a dead letter saying why and where it came from), group by (input
partition, Kafka key), apply `processing.process` to each key's `KeyState`, make the changed
states durable (`state_store.py`), then send the rows as JSON messages and flush them.

The faust layer (`worker.py`) hands batches here and acknowledges their input only when the
batch is done (`batch`, or `prepare` + `commit` + `Sending.finish`): every row sent has durable
state behind it, and a crash before that replays the batch (storage is idempotent). One command
at a time: `_engine_process.py` runs an Engine in a child process (where batch N+1 is prepared
while batch N's rows are on their way), or in a thread of the worker.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any, NamedTuple

import orjson

from phospho_schemas import DecodeError, EventDecoder, Topics

from ._acked_producer import AckedProducer
from ._errors import EngineError
from ._registry import registry_client
from .processing import RAW, KeyState, Output, current_rows, expire_state, process, task_expander
from .settings import WorkerSettings
from .state_codec import dump_state, load_state
from .state_store import StateStore

__all__ = ["Engine", "Prepared", "Sending", "Message", "json_messages", "MESSAGE_BYTES", "MAX_REQUEST_BYTES"]

logger = logging.getLogger("phospho.worker")

#: an input message as the faust layer hands it over: (topic, partition, offset, key, value)
Message = tuple[str, int, int, "bytes | None", "bytes | None"]

#: how often (ms of wall time) `expire` looks for keys idle for the retention period
SWEEP_EVERY_MS = 60_000

#: bytes of JSON rows per output message; a batch's rows are split to stay under it (Kafka's
#: default message limit is 1 MB), and a single larger row goes alone (up to MAX_REQUEST_BYTES)
MESSAGE_BYTES = 512 * 1024
MAX_REQUEST_BYTES = 8 * 1024 * 1024

#: a dead letter keeps at most this much of its event's key and of its value (Kafka's default
#: message limit is 1 MB): an input message too large to send again whole would otherwise stop
#: the worker at every restart, on the same message. Its headers then say how long it was.
DEAD_LETTER_BYTES = 512 * 1024

#: rows in a batch's first message, whose size sets how many go in the next ones
_FIRST_RUN = 64


def json_messages(rows: list[dict[str, Any]], budget: int = MESSAGE_BYTES) -> list[bytes]:
    """The rows as JSON-array messages of at most `budget` bytes each (a larger row alone).

    Runs of rows are serialized in one call each (a call per row cost twice as much): the first
    run is short, to learn the rows' size; a run that comes out over the budget is tried again
    with half as many rows."""
    messages: list[bytes] = []
    start, count, total = 0, _FIRST_RUN, len(rows)
    while start < total:
        run = rows[start:start + count]
        message = orjson.dumps(run, default=str)
        if len(message) > budget and len(run) > 1:
            count = len(run) // 2
            continue
        messages.append(message)
        start += len(run)
        count = max(1, int(budget * 0.8 * len(run) / len(message)))  # ~80 % of the budget at this size
    return messages


class Engine:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)
        self.decoder = decoder = EventDecoder(registry=registry_client(settings.registry_url), timestamps_as_ms=True)
        self._expand = task_expander(decoder)  # tasks are kept compact between batches
        self.store = StateStore(settings.bootstrap, f"{settings.app_id}-state-changelog", settings.partitions,
                                encode=dump_state, decode=lambda blob: load_state(blob, decoder),
                                replication=settings.state_replication)
        self.out = AckedProducer({
            "bootstrap.servers": settings.bootstrap, "linger.ms": 5, "acks": "all",
            "batch.size": max(1, settings.producer_batch_bytes), "message.max.bytes": MAX_REQUEST_BYTES}, EngineError)
        self._row_topics = {name: getattr(self.topics, f"{name}_rows") for name in ("task", "span", "feedback", "session")}
        # (partition, key) whose state holds spans or feedback waiting for their task: the only
        # ones `expire` looks at
        self.waiting: set[tuple[int, bytes]] = set()
        # when (wall time, ms) a batch last touched each key, or its partition was recovered:
        # keys idle for the retention period are forgotten (`_sweep`)
        self.touched_at: dict[tuple[int, bytes], int] = {}
        self._sweep_at = 0

    def ensure_topics(self) -> None:
        self.store.ensure_topic()

    def drop(self, partitions: set[int]) -> None:
        """Forget partitions this worker no longer owns (their new owner reads the changelog)."""
        self.store.drop(partitions)
        self.waiting = {(p, key) for p, key in self.waiting if p not in partitions}
        self.touched_at = {(p, key): at for (p, key), at in self.touched_at.items() if p not in partitions}

    def batch(self, messages: list[Message], now_ms: int | None = None) -> dict[str, int]:
        """Process a batch; returns {"events", "dead_letters", "rows"} once all of it is durable."""
        return self.commit(self.prepare(messages, now_ms)).finish()

    def prepare(self, messages: list[Message], now_ms: int | None = None) -> Prepared:
        """A batch's first part: decode (dead letters sent), apply the rules to the keys' states
        in memory. Nothing of it is durable yet. It may run while the previous batch's rows are
        on their way (`_engine_process.py`): that batch's state is already durable."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        by_key: dict[tuple[int, bytes], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        kind_of, decode, dead = self.topics.kind_of, self.decoder.decode, 0
        for topic, partition, offset, key, value in messages:
            kind = kind_of(topic)
            try:
                _, record = decode(value, expected_kind=kind)
            except DecodeError as exc:
                self._dead_letter(str(exc), topic, partition, offset, key, value)
                dead += 1
                continue
            record[RAW] = value  # the state changelog keeps these bytes, not a pickle
            by_key[(partition, key or (record.get("task_id") or "").encode("utf-8"))].append((kind, record))
        out = self._ensure_loaded({p for p, _ in by_key}, now_ms)
        store, settings, touched_at = self.store, self.settings, self.touched_at
        waiting = self.waiting
        for (p, key), keyed in by_key.items():
            touched_at[(p, key)] = now_ms
            state = store.get(p, key) or KeyState()
            out.merge(process(state, keyed, now_ms, settings.gap_ms, settings.retention_ms, self._expand))
            store.put(p, key, state)
            # tasks alone make nothing wait: a key that waited for nothing still does not
            if (p, key) in waiting or any(kind != "task" for kind, _ in keyed):
                self._note_waiting(p, key, state)
        return Prepared(len(messages), dead, out)

    def commit(self, prepared: Prepared) -> Sending:
        """A batch's second part: its changed states made durable, then its rows sent. Call it
        only once the previous batch's rows were acknowledged (its `Sending.finish()`): recovery
        relies on that order (a partition's last state write is the only one whose rows may be
        missing)."""
        self.store.write()  # state first: once the rows are out, the state that made them must survive a crash
        return Sending(self, prepared.events, prepared.dead_letters, self._produce_rows(prepared.out))

    def expire(self, now_ms: int | None = None) -> dict[str, int]:
        """Write the spans and feedback whose task did not come within the grace period; once a
        minute, forget the keys idle for the retention period."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        if now_ms >= self._sweep_at:
            self._sweep(now_ms)
            self._sweep_at = now_ms + SWEEP_EVERY_MS
        out = Output()
        for p, key in list(self.waiting):
            if not self.store.is_loaded(p):
                self.waiting.discard((p, key))
                continue
            state = self.store.get(p, key)
            part = expire_state(state, now_ms, self.settings.grace_ms)
            if part.spans or part.feedback:
                self.store.put(p, key, state)
                out.spans += part.spans
                out.feedback += part.feedback
            self._note_waiting(p, key, state)
        self.store.write()
        rows = self._produce_rows(out)
        self._acknowledged()
        return {"rows": rows}

    def close(self) -> None:
        self.out.close()
        self.store.close()

    # -- internals ---------------------------------------------------------------------------
    def _ensure_loaded(self, partitions: set[int], now_ms: int) -> Output:
        """Recover the partitions not loaded yet. Returns the rows of each one's last state
        write, to send again: a crash may have come between that write and its rows, and the
        events delivered again would change nothing (`processing.current_rows`)."""
        out = Output()
        for p in sorted(partitions):
            if not self.store.is_loaded(p):
                keys = self.store.recover(p)
                for key, state in self.store.items(p):  # what waits for its task
                    self._note_waiting(p, key, state)
                    self.touched_at[(p, key)] = now_ms
                last = self.store.last_written(p)
                for key in last:
                    out.merge(current_rows(self.store.get(p, key)))
                logger.info("state of partition %s recovered: %s keys (rows of the last %s written sent again)", p, keys,
                            len(last))
        return out

    def _sweep(self, now_ms: int) -> None:
        """A key's state shrinks as its newest tasks push old windows out (`evict`), but a key
        that gets no more events would stay in memory for good: a chat that ended, a task
        logged without session or user. Keys no batch touched for the retention period are
        forgotten, in memory and in the changelog (a tombstone). A task that comes for such a
        key later opens a new window, as for any task later than the retention."""
        horizon = now_ms - self.settings.retention_ms
        idle = [pk for pk, at in self.touched_at.items() if at < horizon and pk not in self.waiting]
        for pk in idle:
            del self.touched_at[pk]
            if self.store.is_loaded(pk[0]):
                self.store.delete(*pk)
        if idle:
            logger.info("forgot %s keys idle for %.1f h", len(idle), self.settings.retention_ms / 3_600_000)

    def _dead_letter(self, reason: str, topic: str, partition: int, offset: int, key: bytes | None,
                     value: bytes | None) -> None:
        headers = {"source_topic": topic.encode(), "source_partition": str(partition).encode(),
                   "source_offset": str(offset).encode()}
        value = value or b""
        for name, part in (("key", key), ("value", value)):
            if part is not None and len(part) > DEAD_LETTER_BYTES:
                headers[f"{name}_bytes"] = str(len(part)).encode()
                reason += f" ({name} cut to its first {DEAD_LETTER_BYTES} of {len(part)} bytes)"
        headers["reason"] = reason.encode()
        self.out.produce(self.topics.dead_letters, value[:DEAD_LETTER_BYTES],
                         key[:DEAD_LETTER_BYTES] if key is not None else None, headers=headers)

    def _note_waiting(self, partition: int, key: bytes, state: KeyState) -> None:
        if any(j.task is None and not j.orphans_written for j in state.joins.values()):
            self.waiting.add((partition, key))
        else:
            self.waiting.discard((partition, key))

    def _produce_rows(self, out: Output) -> int:
        """Produce the rows, one per stored id and version (`Output.newest`); `_acknowledged`
        waits for them."""
        rows, out = 0, out.newest()
        for name, batch in (("task", out.tasks), ("span", out.spans), ("feedback", out.feedback), ("session", out.sessions)):
            for message in json_messages(batch):
                self.out.produce(self._row_topics[name], message)
            rows += len(batch)
        return rows

    def _acknowledged(self) -> None:
        """Wait until the broker acknowledged the rows produced, the dead letters and the
        state's markers."""
        self.store.wait_markers()
        self.out.flush("rows")


class Prepared(NamedTuple):
    """A batch applied in memory, not yet durable (`Engine.prepare`)."""

    events: int
    dead_letters: int
    out: Output


class Sending(NamedTuple):
    """A batch whose state is durable and whose rows are on their way (`Engine.commit`)."""

    engine: Engine
    events: int
    dead_letters: int
    rows: int

    def finish(self) -> dict[str, int]:
        """Wait until the broker acknowledged the rows (and the state's markers): then the batch
        is durable, and its input may be acknowledged."""
        self.engine._acknowledged()
        return {"events": self.events, "dead_letters": self.dead_letters, "rows": self.rows}
