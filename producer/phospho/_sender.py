"""The background sender, in the style of OpenTelemetry's BatchSpanProcessor: one daemon
thread drains the bounded LogQueue, encodes events (EventEncoder) and produces them with a
plain confluent-kafka Producer. When Kafka is unreachable, or a message fails, events go to the
durable spool and are sent when the broker is back. flush(timeout) and shutdown(timeout)
honour their timeouts. Only this thread touches the Producer."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from . import _span_links as span_links
from . import _span_sweep
from ._encoder import EventEncoder
from ._kafka import make_producer, make_serializers
from ._log_queue import Event, LogQueue
from ._runtime import RUNTIME
from ._settings import Settings
from ._spool import Spool
from ._stats import Stats
from ._streaming import _ABANDONED, finish_open_streams

__all__ = ["Sender"]

logger = logging.getLogger("phospho")
_BATCH = 2_000
_PROBE_EVERY = 1.0
_SWEEP_EVERY = 0.2
_PERMANENT = {KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.INVALID_MSG, KafkaError.INVALID_RECORD}
#: the broker forgot this producer's id (e.g. it restarted): only a new producer gets through
_NEEDS_NEW_PRODUCER = {
    KafkaError.UNKNOWN_PRODUCER_ID, KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
    KafkaError.INVALID_PRODUCER_EPOCH, KafkaError.INVALID_PRODUCER_ID_MAPPING,
}


class _FlushRequest:
    __slots__ = ("deadline", "done", "result", "failed_before")

    def __init__(self, deadline: float, failed_before: int) -> None:
        self.deadline = deadline
        self.failed_before = failed_before
        self.done = threading.Event()
        self.result = False


class Sender:
    def __init__(self, settings: Settings, queue: LogQueue, spool: Spool, stats: Stats, sdk_version: str) -> None:
        self._settings = settings
        self._queue = queue
        self._spool = spool
        self._stats = stats
        self._encoder = EventEncoder(settings, make_serializers(settings), stats, sdk_version)
        self._encode = self._encoder.encode
        self._producer = make_producer(settings, self._on_error, self._on_delivery)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._flush_lock = threading.Lock()
        self._app_lock = threading.Lock()
        self._flush_requests: list[_FlushRequest] = []
        self._down = False
        self._purge_pending = False
        self._recreate = False
        self._last_probe = 0.0
        self._next_sweep = 0.0
        self._thread = threading.Thread(target=self._run, name="phospho-sender", daemon=True)

    # -- app side ------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def awake(self) -> bool:
        return self._wake.is_set()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def in_flight(self) -> int:
        """Messages handed to the producer whose delivery report has not arrived yet."""
        stats = self._stats
        return stats.produced + stats.produced_by_app - stats.delivered - stats.delivery_errors

    def spooling(self) -> bool:
        return self._down

    def flush(self, timeout: float) -> bool:
        if not self.alive:
            return False
        request = _FlushRequest(time.monotonic() + timeout, self._stats.failed)
        with self._flush_lock:
            self._flush_requests.append(request)
        self._wake.set()
        return request.done.wait(timeout) and request.result

    def shutdown(self, timeout: float) -> bool:
        """Flush within `timeout`, spool whatever is left, stop the thread. Idempotent."""
        if not self.alive:
            return True
        delivered = self.flush(timeout)
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout + 5.0)
        return delivered

    def send_from_app(self, event: Event) -> None:
        """Called in the app's thread when the queue is full ("caller runs", as in a thread
        pool's rejection policy): encode and produce this one event right there (librdkafka's
        produce is thread-safe and never blocks); spool it when Kafka is down or full. This
        costs the caller one event's encoding, adds no extra work, and keeps memory bounded."""
        with self._app_lock:
            try:
                encoded = self._encode(event)
            except Exception as exc:
                self._stats.count_failed(f"could not encode a {event.kind} event: {exc!r}")
                return
            if encoded is None:
                return
            topic, key, value = encoded
            if not self._down:
                try:
                    self._producer.produce(topic, value, key)
                    self._stats.produced_by_app += 1
                    return
                except (BufferError, KafkaException):
                    pass
            self._to_spool(topic, key, value, reason=f"the in-memory queue is full ({self._queue.maxsize} events) and Kafka is not taking more")

    # -- sender thread -------------------------------------------------------------------------
    def _run(self) -> None:
        interval = self._settings.flush_interval
        while True:
            self._wake.wait(interval)
            self._wake.clear()
            try:
                self._iteration()
            except Exception:  # never let the sender die
                logger.exception("phospho: unexpected error in the sender thread")
                time.sleep(interval)
            if self._stopping.is_set():
                self._final_spool()
                return

    def _iteration(self) -> None:
        if _ABANDONED:
            finish_open_streams(RUNTIME, only_abandoned=True)
        if span_links.waiting() and time.monotonic() >= self._next_sweep:  # spans waiting for a log
            self._next_sweep = time.monotonic() + _SWEEP_EVERY
            _span_sweep.sweep(self._settings.trace_link_timeout, self._settings.max_queue_size)
        self._poll(0)
        if self._down:
            self._probe()
        self._send_queued(deadline=time.monotonic() + 0.5)
        self._spool.sync()
        if not self._down and not self._stopping.is_set():
            self._drain_spool()
        self._serve_flushes()

    def _poll(self, timeout: float) -> None:
        self._producer.poll(timeout)
        if self._purge_pending:
            self._purge_pending = False
            self._producer.purge(in_queue=True, in_flight=False, blocking=False)
            self._producer.poll(0)
        if self._recreate:
            self._recreate_producer()

    def _send_queued(self, deadline: float) -> None:
        take, encode, dispatch = self._queue.take, self._encode, self._dispatch
        while True:
            batch = take(_BATCH)
            if not batch:
                return
            for event in batch:
                try:
                    encoded = encode(event)
                except Exception as exc:
                    self._stats.count_failed(f"could not encode a {event.kind} event: {exc!r}")
                    continue
                if encoded is not None:
                    dispatch(*encoded)
            self._producer.poll(0)
            if time.monotonic() > deadline and not self._flush_requests:
                self._wake.set()  # come back at once, after serving the rest of the loop
                return

    def _dispatch(self, topic: str, key: bytes, value: bytes) -> None:
        if self._down:
            self._to_spool(topic, key, value, reason=f"Kafka at {self._settings.bootstrap_servers} is unreachable")
            return
        for attempt in range(3):
            try:
                self._producer.produce(topic, value, key)
                self._stats.produced += 1
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
        if self._spool.append(topic, key, value):
            self._stats.count_spooled(reason, self._spool.directory)
        else:
            self._stats.count_failed(f"the spool {self._spool.directory} is full or not writable")

    # -- librdkafka callbacks (called from poll/flush in the sender thread) ---------------------
    def _on_delivery(self, err: KafkaError | None, msg: Any) -> None:
        if err is None:
            self._stats.delivered += 1
            return
        self._stats.delivery_errors += 1
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
            self._spool.roll()
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
        self._spool.roll()

    def _drain_spool(self) -> None:
        if not self._spool.has_backlog():
            if self._spool.writing() and not self._down and len(self._queue) == 0:
                self._spool.roll()  # overflow written while Kafka was fine: send it now
            else:
                return
        claim = self._spool.claim()
        if claim is None:
            return
        done = False
        try:
            records, torn = self._spool.read(claim)
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
            self._spool.release(claim, done)

    def _serve_flushes(self) -> None:
        with self._flush_lock:
            requests, self._flush_requests = self._flush_requests, []
        if not requests:
            return
        deadline = max(r.deadline for r in requests)
        failed_before = min(r.failed_before for r in requests)
        self._send_queued(deadline)
        while True:
            remaining = deadline - time.monotonic()
            self._producer.flush(max(0.0, min(remaining, 0.5)))
            self._poll(0)
            if self._down:
                self._probe()
            if not self._down:
                self._spool.sync()
                self._drain_spool()
            clean = len(self._queue) == 0 and self.in_flight() == 0 and not self._spool.has_backlog() and not self._spool.writing()
            if clean or time.monotonic() >= deadline:
                break
            self._send_queued(deadline)
        for request in requests:
            request.result = clean and self._stats.failed == failed_before
            request.done.set()

    def _final_spool(self) -> None:
        """At shutdown: everything not delivered goes to the spool, for the next start."""
        self._down = True  # _dispatch now spools
        self._send_queued(time.monotonic() + 5.0)
        self._producer.purge(in_queue=True, in_flight=True, blocking=False)
        deadline = time.monotonic() + 2.0
        while self.in_flight() and time.monotonic() < deadline:
            self._producer.poll(0.05)  # purged messages reach _on_delivery -> spool
        self._spool.sync()
        self._spool.roll()
