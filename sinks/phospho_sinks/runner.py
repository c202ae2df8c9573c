"""The sink: consumes the stages' row topics and the dead-letter topic, writes batches (up to
`max_rows` rows, or what came within `max_seconds`, or what there is as soon as the topics run
dry; writes at least `min_seconds` apart) to the store, and commits Kafka offsets only after the
write succeeded. Row messages go to the store as they are (JSONEachRow); a message the store
refuses is written to the dead letters with the store's reason. While the store is down the sink
pauses consumption (the group membership stays), backs off exponentially, and retries the same
batch: nothing is dropped. Delivery is at least once and storage is idempotent. One sink owns
the store; any number of stages feed it.

The sink also executes deletion requests (`Topics.deletions`, from `phospho-stream
delete-user`): it writes what it holds, deletes the user's rows (deletion.py), and from then on
leaves the deleted user's rows out of what it writes (deletion_filter.py); a request's offset is
committed once its audit row is written."""

from __future__ import annotations

import base64
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaException, TopicPartition

from phospho_schemas import Topics
from phospho_schemas.rows import STORE_DATABASE

from ._errors import StoreError
from .deletion import DeletionRequest, delete_user
from .deletion_filter import Tombstones
from .store import Store
from .writer import BatchWriter, Rejected

__all__ = ["SinkRunner", "SinkStats", "dead_letter_row"]

logger = logging.getLogger("phospho.sink")

_DEAD_LETTERS_TABLE = f"{STORE_DATABASE}.dead_letters"
_MAX_BACKOFF = 30.0


@dataclass
class SinkStats:
    messages_in: int = 0
    rows_written: int = 0
    batches_written: int = 0
    failed_writes: int = 0
    rejected_messages: int = 0
    deletions: int = 0
    paused: bool = False
    last_error: str | None = None


def _header(headers: list[tuple[str, bytes]] | None, name: str) -> str | None:
    for key, value in headers or []:
        if key == name and value is not None:
            return value.decode("utf-8", "replace")
    return None


def dead_letter_row(msg: Any, reason: str | None = None) -> dict[str, Any]:
    """A dead letter's row (phospho_schemas.rows.DeadLetterRow): the source coordinates from the
    stage's headers (else the message's own), the bytes in base64, and why."""
    headers = msg.headers()
    key = msg.key()
    return {
        "topic": _header(headers, "source_topic") or msg.topic(),
        "partition": int(_header(headers, "source_partition") or msg.partition()),
        "offset": int(_header(headers, "source_offset") or msg.offset()),
        "key_base64": None if key is None else base64.b64encode(key).decode("ascii"),
        "value_base64": base64.b64encode(msg.value() or b"").decode("ascii"),
        "reason": reason or _header(headers, "reason") or "unknown",
        "received_at_ms": int(time.time() * 1000),
    }


class SinkRunner:
    def __init__(
        self,
        bootstrap: str,
        store: Store,
        topics: Topics,
        group_id: str = "phospho-sink",
        max_rows: int = 20_000,
        max_seconds: float = 0.2,
        min_seconds: float = 0.05,
        kafka_config: dict[str, Any] | None = None,
    ) -> None:
        self.stats = SinkStats()
        self._topics = topics
        self._table_of = {topics.rows(table): f"{STORE_DATABASE}.{table}" for table in (
            topics.table_of(t) for t in topics.row_topics())}
        self._store = store
        self._writer = BatchWriter(store, max_rows, max_seconds)
        self._min_seconds = min_seconds
        self._written_at = float("-inf")
        self._offsets: dict[tuple[str, int], int] = {}
        self._tombstones = Tombstones()
        try:
            self._tombstones.load(store)
        except StoreError as exc:  # a store without migration 4: nobody was deleted there
            logger.warning("phospho sink: no deletions read (%s)", exc)
        #: deletion requests read and not executed yet, with the offsets to commit after them
        self._requests: list[tuple[DeletionRequest | None, TopicPartition]] = []
        self._backoff = 0.5
        self._retry_at = 0.0
        conf = {
            "bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "log_level": 0, "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000, "fetch.wait.max.ms": 50,
        }
        conf.update(kafka_config or {})
        self._consumer = Consumer(conf)
        self._consumer.subscribe([*self._table_of, topics.dead_letters, topics.deletions], on_assign=self._on_assign,
                                 on_revoke=self._on_revoke)

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.step()
            self._flush()  # last batch (best effort: on failure it is consumed again later)
        finally:
            self._consumer.close()

    def step(self, timeout: float = 0.1) -> None:
        if self.stats.paused:
            msg = self._consumer.poll(min(timeout, 0.1))  # keeps the group membership
            if msg is not None and not msg.error():  # a partition not paused yet: keep the row
                self._accept(msg)
            if time.monotonic() >= self._retry_at and self._flush():
                self._execute_requests()
            return
        room = max(1, self._writer.max_rows - len(self._writer))
        messages = self._consumer.consume(min(room, 5_000), self._wait(timeout))
        for msg in messages:
            if msg.error():
                logger.warning("phospho sink: consumer error: %s", msg.error())
                continue
            self._accept(msg)
        if self._requests:  # what came before a deletion is written first, then deleted with the rest
            if self._flush():
                self._execute_requests()
        elif self._writer.due() or (not messages and len(self._writer) and self._spaced()):  # full, old, or caught up
            self._flush()

    def _spaced(self) -> bool:
        return time.monotonic() - self._written_at >= self._min_seconds

    def _wait(self, timeout: float) -> float:
        """How long to wait for messages: with rows pending, only until they may be written (a
        batch is written once nothing more has come, not after a whole `timeout` of trickle)."""
        if not len(self._writer):
            return timeout
        return max(0.0, min(timeout, self._written_at + self._min_seconds - time.monotonic()))

    def _accept(self, msg: Any) -> None:
        self.stats.messages_in += 1
        topic = msg.topic()
        table = self._table_of.get(topic)
        if topic == self._topics.deletions:
            self._requests.append((self._request(msg), TopicPartition(topic, msg.partition(), msg.offset() + 1)))
            return
        if table is None:  # the dead-letter topic
            self._writer.add(_DEAD_LETTERS_TABLE, orjson.dumps(dead_letter_row(msg)))
        else:
            self._writer.add(table, self._tombstones.keep(msg.value() or b""), msg)
        self._offsets[(topic, msg.partition())] = msg.offset() + 1

    @staticmethod
    def _request(msg: Any) -> DeletionRequest | None:
        try:
            return DeletionRequest.from_json(msg.value() or b"")
        except ValueError as exc:
            logger.warning("phospho sink: skipped a message of %s at offset %s: %s", msg.topic(), msg.offset(), exc)
            return None

    def _execute_requests(self) -> None:
        """Each deletion read, in order: rows deleted, tombstone and audit written, then its offset
        committed. While the store fails, the requests wait (paused, with backoff)."""
        while self._requests:
            request, position = self._requests[0]
            if request is not None:
                try:
                    counts = delete_user(self._store, request)
                    self._tombstones.load(self._store, request.request_id)
                except StoreError as exc:
                    self.stats.failed_writes += 1
                    self.stats.last_error = str(exc)
                    self._pause(exc)
                    return
                self.stats.deletions += 1
                logger.warning("phospho sink: deleted user %s (request %s, by %s): %s rows", request.user_id,
                               request.request_id, request.requested_by, sum(counts.values()))
            try:
                self._consumer.commit(offsets=[position], asynchronous=False)
            except KafkaException as exc:  # executed again after a restart: it removes nothing more
                logger.warning("phospho sink: deletion offset commit failed (%s)", exc)
            self._requests.pop(0)

    def _flush(self) -> bool:
        if not len(self._writer) and not self._offsets:
            return True
        try:
            rows, rejected = self._writer.flush()
            self._written_at = time.monotonic()
            if rejected:
                self._reject(rejected)
        except StoreError as exc:
            self.stats.failed_writes += 1
            self.stats.last_error = str(exc)
            self._pause(exc)
            return False
        if self._offsets:
            offsets = [TopicPartition(t, p, o) for (t, p), o in self._offsets.items()]
            try:
                self._consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:  # rows are idempotent: they will be written again
                logger.warning("phospho sink: offset commit failed (%s); the rows will be consumed again", exc)
            self._offsets.clear()
        self.stats.rows_written += rows
        self.stats.batches_written += 1 if rows else 0
        if self.stats.paused:
            self._consumer.resume(self._consumer.assignment())
            self.stats.paused = False
            logger.warning("phospho sink: the store is back; consuming again")
        self._backoff = 0.5
        return True

    def _reject(self, rejected: list[Rejected]) -> None:
        """Messages the store refused: to the dead letters, with the store's reason."""
        self.stats.rejected_messages += len(rejected)
        for item in rejected:
            logger.warning("phospho sink: %s refused a row message: %s", item.table, item.reason.splitlines()[0])
            self._writer.add(_DEAD_LETTERS_TABLE, orjson.dumps(dead_letter_row(
                item.source, f"sink: {item.table} refused the rows: {item.reason.splitlines()[0][:500]}")))
        _, again = self._writer.flush()
        if again:
            raise StoreError(f"the store refuses dead letters too: {again[0].reason}")

    def _pause(self, exc: Exception) -> None:
        if not self.stats.paused:
            self._consumer.pause(self._consumer.assignment())
            self.stats.paused = True
            logger.warning("phospho sink: store write failed (%s); consumption paused, retrying with backoff", exc)
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, _MAX_BACKOFF)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self.stats.paused:  # the store is still down: new partitions wait too
            consumer.pause(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Before partitions go to another sink: write and commit; failing that, forget the
        batch and rewind to the committed offsets (the rows are consumed again)."""
        if self._flush():
            self._execute_requests()
            if not self._requests:
                return
        self._requests.clear()  # read again by the partitions' next owner
        self._writer.clear()
        self._offsets.clear()
        assigned = consumer.assignment()
        for tp in consumer.committed(assigned, timeout=10):
            if tp.offset >= 0:
                consumer.seek(tp)
