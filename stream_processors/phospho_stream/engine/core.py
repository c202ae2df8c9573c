"""The core stage without faust: a batch of input messages in, everything it makes durable out.

Per batch, in this order (a crash anywhere replays the batch from the last committed offsets,
and replaying is harmless: a task, span, feedback or point seen again changes nothing):
1. decode each event (an undecodable one is dead-lettered with its reason and coordinates);
   redact it with the project's `privacy.redact` rules, if any, before anything is made of it;
   apply the join rules per task (`JoinsPart`) and the session rules per session key
   (`SessionsPart`), each for the input partition the message came from;
2. send the rows, the points for the sessions and the records for the analysis stages, and
   wait for the broker's acknowledgement;
3. write the state records of what changed, and wait for them;
then the caller acknowledges the batch's input.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson

from phospho.redaction import EventRedactor, Redactor
from phospho_schemas import DecodeError, EventDecoder, SingleObjectSerializer, Topics, raw_schema

from ..errors import EngineError
from ..settings import WorkerSettings
from .clock import VersionClock
from .collector import BatchCollector
from .joins_part import JoinsPart
from .output import Output, partition_of
from .registry import registry_client
from .sessions_part import SessionsPart
from .state_store import StateStore
from .topics import ensure_pipeline_topics

__all__ = ["CoreEngine", "Message"]

logger = logging.getLogger("phospho.worker")

#: an input message: (topic, partition, offset, key, value)
Message = tuple[str, int, int, "bytes | None", "bytes | None"]


class CoreEngine:
    """`redactor`: the project's redaction rules (config.privacy.redactor()), applied to every
    decoded event before any row, point or analysis record is made of it; `topic_retention_ms`:
    the retention.ms of the pipeline topics it creates (config.privacy.retention.topic_ms)."""

    def __init__(self, settings: WorkerSettings, redactor: Redactor | None = None,
                 topic_retention_ms: int | None = None) -> None:
        self.settings = settings
        self.topic_retention_ms = topic_retention_ms
        self.redact = EventRedactor(redactor).redact if redactor is not None else None
        #: feedback waiting for its task keeps its event's bytes: the redacted event, re-encoded
        self._feedback_encoder = SingleObjectSerializer(raw_schema("feedback"))
        self.topics = Topics(settings.topic_prefix)
        self.decoder = EventDecoder(registry=registry_client(settings.schema_registry_url), timestamps_as_ms=True)
        self.out = Output(settings.bootstrap, self.topics, settings.worker_producer_batch_bytes)
        self.store = StateStore(settings.bootstrap, self.topics.state(settings.app_id), settings.topic_partitions,
                                settings.state_replication)
        self.clock = VersionClock()
        self.joins: dict[int, JoinsPart] = {}
        self.sessions: dict[int, SessionsPart] = {}
        self.partitions = settings.topic_partitions
        self.collector = BatchCollector()

    def ensure_topics(self) -> None:
        """The topics this stage reads and writes, and its changelog."""
        drift = ensure_pipeline_topics(self.settings.bootstrap, self.topics, self.partitions, self.settings.state_replication,
                                       self.topic_retention_ms, EngineError)
        if drift:
            logger.warning("%s", drift)
        self.store.ensure_topic()

    def process(self, messages: list[Message], now_ms: int | None = None) -> dict[str, int]:
        """Apply a batch; returns counts once its rows and state are durable."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        self._load({p for _, p, _, _, _ in messages}, now_ms)
        kind_of, decode, redact, dead = self.topics.kind_of, self.decoder.decode, self.redact, 0
        points_topic, out, limit = self.topics.core_points, self.out, self.settings.worker_max_event_bytes
        for topic, partition, offset, key, value in messages:
            if value is not None and len(value) > limit:
                out.dead_letter(f"an event of {len(value):,} bytes is larger than the worker's limit of {limit:,} "
                                f"(PHOSPHO_WORKER_MAX_EVENT_BYTES)", topic, partition, offset, key, value)
                dead += 1
                continue
            if topic == points_topic:
                self._points(partition, offset, key, value, now_ms)
                continue
            kind = kind_of(topic)
            try:
                _, record = decode(value, expected_kind=kind)
            except DecodeError as exc:
                out.dead_letter(str(exc), topic, partition, offset, key, value)
                dead += 1
                continue
            if redact is not None and redact(kind, record) and kind == "feedback":
                value = self._feedback_encoder(record)
            result = self.joins[partition].apply(kind, record, value or b"", offset, now_ms)
            self._send(partition, result)
        for partition in {p for _, p, _, _, _ in messages}:
            for table, row in self.sessions[partition].drain_rows():
                out.row(table, partition, row)
        rows = out.send()
        self._write_state()
        self.collector.batch_done()
        return {"events": len(messages), "dead_letters": dead, "rows": rows}

    def _points(self, partition: int, offset: int, key: bytes | None, value: bytes | None, now_ms: int) -> None:
        try:
            points = orjson.loads(value or b"")
            if not isinstance(points, list):
                raise ValueError("not a JSON array")
            part = self.sessions[partition]
            for point in points:
                part.apply(point, now_ms)
        except (ValueError, KeyError, TypeError) as exc:
            self.out.dead_letter(f"unreadable points message: {type(exc).__name__}: {exc}", self.topics.core_points,
                                 partition, offset, key, value)

    def _send(self, partition: int, result: Any) -> None:
        out, n = self.out, self.partitions
        for table in ("tasks", "spans", "feedback"):
            for row in getattr(result, table):
                out.row(table, partition, row)
        for point in result.points:
            out.record(self.topics.core_points, partition_of(point["k"], n), point)
        for record in result.analysis:
            out.record(self.topics.analysis_tasks, partition_of(record["session_key"], n), record)

    def _write_state(self) -> None:
        for partition, part in self.joins.items():
            for key, value in part.records():
                self.store.put(partition, key, value)
        for partition, spart in self.sessions.items():
            for key, value in spart.records():
                self.store.put(partition, key, value)
        self.store.write()

    def _load(self, partitions: set[int], now_ms: int) -> None:
        """Recover the partitions not loaded yet from the changelog."""
        for partition in sorted(partitions - self.joins.keys()):
            records = self.store.recover(partition)
            joins, sessions = JoinsPart(partition, self.clock), SessionsPart(partition, self.clock,
                                                                              self.settings.gap_ms)
            tasks, points = joins.load(records), sessions.load(records, now_ms)
            self.joins[partition], self.sessions[partition] = joins, sessions
            logger.info("state of partition %s recovered: %s tasks, %s session points", partition, tasks, points)

    def expire(self, now_ms: int | None = None) -> dict[str, int]:
        """Dead-letter feedback past the horizon, forget old state (the timer's work)."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        settings, forgotten = self.settings, 0
        for partition, part in self.joins.items():
            def dead_letter(reason: str, event_id: str, offset: int, value: bytes, p: int = partition) -> None:
                self.out.dead_letter(reason, self.topics.feedback, p, offset, event_id.encode(), value)

            forgotten += part.expire(now_ms, settings.horizon_ms, settings.retention_ms, dead_letter)
        for spart in self.sessions.values():
            forgotten += spart.evict(now_ms, settings.retention_ms)
        self.out.send()
        self._write_state()
        self.collector.batch_done()
        return {"forgotten": forgotten}

    def drop(self, partitions: set[int]) -> None:
        """Forget partitions this worker no longer owns (their new owner reads the changelog)."""
        for partition in partitions:
            self.joins.pop(partition, None)
            self.sessions.pop(partition, None)
        self.store.discard(partitions)

    def close(self) -> None:
        self.out.close()
        self.store.close()
