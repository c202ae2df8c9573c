"""The Kafka exporter: produce with a plain confluent-kafka Producer, follow delivery reports,
and keep events in the durable spool while Kafka is unreachable (sent again when it is back).
Only the processor's thread touches the Producer, apart from `send_now`'s produce (thread-safe)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from .._core.settings import Settings
from .._core.stats import Stats
from .exporter import Message
from .kafka import make_producer
from .spool import Spool

__all__ = ["KafkaExporter"]

logger = logging.getLogger("phospho")
_PROBE_EVERY = 1.0
_PERMANENT = {KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.INVALID_MSG, KafkaError.INVALID_RECORD}
#: the broker forgot this producer's id (e.g. it restarted): only a new producer gets through
_NEEDS_NEW_PRODUCER = {
    KafkaError.UNKNOWN_PRODUCER_ID, KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
    KafkaError.INVALID_PRODUCER_EPOCH, KafkaError.INVALID_PRODUCER_ID_MAPPING,
}


class KafkaExporter:
    """The default Exporter: `KafkaExporter(settings, stats)` (may raise ConfigurationError)."""

    def __init__(self, settings: Settings, stats: Stats) -> None:
        self._settings = settings
        self._stats = stats
        self.spool = Spool(settings.spool_dir, settings.spool_max_bytes)
        self._producer = make_producer(settings, self._on_error, self._on_delivery)
        self._produced = 0  # messages handed to the producer (processor thread)
        self._produced_by_app = 0  # ... by send_now, in the app's threads (serialized by the processor)
        self._settled = 0  # delivery reports received, with or without an error
        self._down = False
        self._purge_pending = False
        self._recreate = False
        self._last_probe = 0.0

    # -- the Exporter protocol -----------------------------------------------------------------
    def export(self, messages: Sequence[Message]) -> None:
        dispatch = self._dispatch
        for topic, key, value in messages:
            dispatch(topic, key, value)
        self._producer.poll(0)

    def send_now(self, message: Message) -> None:
        topic, key, value = message
        if not self._down:
            try:
                self._producer.produce(topic, value, key)
                self._produced_by_app += 1
                return
            except (BufferError, KafkaException):
                pass
        self._to_spool(topic, key, value, reason=f"the in-memory queue is full ({self._settings.max_queue_size} "
                                                 "events) and Kafka is not taking more")

    def tick(self, idle: bool) -> None:
        self._poll(0)
        if self._down:
            self._probe()
        self.spool.sync()
        if not self._down:
            self._drain_spool(idle)

    def flush(self, timeout: float) -> bool:
        self._producer.flush(timeout)
        self._poll(0)
        if self._down:
            self._probe()
        if not self._down:
            self.spool.sync()
            self._drain_spool(idle=True)
        return self.in_flight() == 0 and not self.spool.has_backlog() and not self.spool.writing()

    def shutdown(self, remaining: Sequence[Message]) -> None:
        self._down = True  # _dispatch now spools
        for topic, key, value in remaining:
            self._to_spool(topic, key, value, reason="the app stopped before Kafka took them")
        self._producer.purge(in_queue=True, in_flight=True, blocking=False)
        deadline = time.monotonic() + 2.0
        while self.in_flight() and time.monotonic() < deadline:
            self._producer.poll(0.05)  # purged messages reach _on_delivery -> spool
        self.spool.sync()
        self.spool.roll()

    def in_flight(self) -> int:
        """Messages handed to the producer whose delivery report has not arrived yet."""
        return self._produced + self._produced_by_app - self._settled

    def spooling(self) -> bool:
        return self._down

    def backlog_bytes(self) -> int:
        return self.spool.total_bytes()

    # -- producing -----------------------------------------------------------------------------
    def _poll(self, timeout: float) -> None:
        self._producer.poll(timeout)
        if self._purge_pending:
            self._purge_pending = False
            self._producer.purge(in_queue=True, in_flight=False, blocking=False)
            self._producer.poll(0)
        if self._recreate:
            self._recreate_producer()

    def _dispatch(self, topic: str, key: bytes, value: bytes) -> None:
        if self._down:
            self._to_spool(topic, key, value, reason=f"Kafka at {self._settings.bootstrap_servers} is unreachable")
            return
        for attempt in range(3):
            try:
                self._producer.produce(topic, value, key)
                self._produced += 1
                return
            except BufferError:  # librdkafka's own queue is full: let it drain a little
                self._producer.poll(0.05 * (attempt + 1))
            except KafkaException as exc:
                if exc.args and exc.args[0].code() in _PERMANENT:
                    self._stats.count_failed(f"Kafka refused a message on {topic}: {exc}")
                    return
                break
        self._to_spool(topic, key, value, reason="the Kafka producer's queue is full")

    def _to_spool(self, topic: str, key: bytes | None, value: bytes, reason: str) -> None:
        if self.spool.append(topic, key, value):
            self._stats.count_spooled(reason, self.spool.directory)
        else:
            self._stats.count_failed(f"the spool {self.spool.directory} is full or not writable")

    # -- librdkafka callbacks (called from poll/flush in the processor's thread) ---------------
    def _on_delivery(self, err: KafkaError | None, msg: Any) -> None:
        self._settled += 1
        if err is None:
            self._stats.count_delivered()
            return
        if err.code() in _PERMANENT:
            self._stats.count_failed(f"Kafka refused a message on {msg.topic()}: {err.str()}")
            return
        if err.code() in (KafkaError._MSG_TIMED_OUT, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
            self._set_down(err)
        elif err.code() in _NEEDS_NEW_PRODUCER:
            self._recreate = True
        self._to_spool(msg.topic(), msg.key(), msg.value(), reason=f"delivery failed ({err.str()})")

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal() or err.code() in _NEEDS_NEW_PRODUCER:
            logger.warning("phospho: Kafka producer error, recreating the producer: %s", err.str())
            self._recreate = True
        elif err.code() == KafkaError._ALL_BROKERS_DOWN:
            self._set_down(err)
        else:
            logger.debug("phospho: Kafka error: %s", err.str())

    def _set_down(self, err: KafkaError) -> None:
        if not self._down:
            self._down = True
            self._purge_pending = True  # queued (unsent) messages go to the spool
            self._last_probe = time.monotonic()
            logger.debug("phospho: Kafka unreachable (%s)", err.str())

    def _probe(self) -> None:
        now = time.monotonic()
        if now - self._last_probe < _PROBE_EVERY:
            return
        self._last_probe = now
        try:
            metadata = self._producer.list_topics(timeout=1.0)
        except KafkaException:
            return
        if metadata.brokers:
            self._down = False
            self._stats.spooling_ended()
            # a broker that restarted has forgotten our idempotent producer id: start afresh
            # (messages still inside the old producer go to the spool, then are sent again)
            self._recreate_producer()
            self.spool.roll()
            logger.warning("phospho: Kafka at %s is reachable again; sending the spool", self._settings.bootstrap_servers)

    def _recreate_producer(self) -> None:
        self._recreate = False
        old = self._producer
        self._producer = make_producer(self._settings, self._on_error, self._on_delivery)
        was_down, self._down = self._down, True  # purged messages go to the spool, not back in
        try:
            old.purge(in_queue=True, in_flight=True, blocking=False)
            deadline = time.monotonic() + 2.0
            while self.in_flight() > 0 and time.monotonic() < deadline:
                old.poll(0.05)  # purged messages reach _on_delivery -> spool
        finally:
            self._down = was_down
        self.spool.roll()

    # -- the spool -----------------------------------------------------------------------------
    def _drain_spool(self, idle: bool) -> None:
        spool = self.spool
        if not spool.has_backlog():
            if spool.writing() and not self._down and idle:
                spool.roll()  # overflow written while Kafka was fine: send it now
            else:
                return
        claim = spool.claim()
        if claim is None:
            return
        done = False
        try:
            records, torn = spool.read(claim)
            if torn:
                logger.warning("phospho: ignored %d torn bytes at the end of %s", torn, claim.path)
            for topic, key, value in records:
                if self._down:
                    break
                self._dispatch(topic, key, value)
            else:
                self._producer.flush(30.0)
                done = self.in_flight() == 0 or self._down
            self._stats.drained += len(records) if done else 0
        finally:
            spool.release(claim, done)
