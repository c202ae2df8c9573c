"""A confluent-kafka Producer whose `flush` raises unless every record was acknowledged: the
worker writes its state and its rows with it, and acknowledges input only after a clean flush."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, Producer

__all__ = ["AckedProducer"]


class AckedProducer:
    def __init__(self, config: dict[str, Any], error: type[Exception], flush_timeout: float = 60.0) -> None:
        # only failed deliveries call back (flush still waits for every record): a Python
        # callback per record cost ~1 us of the engine's CPU, for nothing to do
        self._producer = Producer({"log_level": 3, "delivery.report.only.error": True, "on_delivery": self._delivered,
                                   **config})
        self._error, self.flush_timeout = error, flush_timeout
        self._errors: list[str] = []

    def produce(self, topic: str, value: bytes | None, key: bytes | None = None, partition: int | None = None,
                headers: dict[str, bytes] | None = None) -> None:
        extra: dict[str, Any] = {} if partition is None else {"partition": partition}
        if headers:
            extra["headers"] = headers
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, **extra)
                return
            except BufferError:  # the local queue is full: let deliveries drain it
                self._producer.poll(0.05)

    def _delivered(self, err: KafkaError | None, msg: Any) -> None:
        if err is not None:
            self._errors.append(str(err))

    def flush(self, what: str) -> None:
        """Block until the broker acknowledged everything produced; raise `error` otherwise."""
        left = self._producer.flush(self.flush_timeout)
        if left or self._errors:
            errors, self._errors = self._errors[:3], []
            raise self._error(f"{what} not acknowledged ({left} pending): {'; '.join(errors) or 'timeout'}")

    def close(self, timeout: float = 5.0) -> None:
        self._producer.flush(timeout)
