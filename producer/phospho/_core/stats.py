"""Counters that say where every event went: nothing is dropped silently."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

__all__ = ["Stats"]

logger = logging.getLogger("phospho")


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.queued = 0  # events accepted by log / user_feedback (under the queue's lock)
        self.delivered = 0  # events the exporter delivered (count_delivered)
        self.spooled = 0  # events written to the spool
        self.drained = 0  # spooled events read back and sent
        self.failed = 0  # events lost for good, each with a logged reason
        self.last_failure: str | None = None
        self._spooling = False

    def count_delivered(self, count: int = 1) -> None:
        """Called by the exporter for events it delivered."""
        with self._lock:
            self.delivered += count

    def count_spooled(self, reason: str, directory: Path) -> None:
        with self._lock:
            self.spooled += 1
            first = not self._spooling
            self._spooling = True
        if first:
            logger.warning("phospho: spooling events to %s because %s; they will be sent when Kafka takes them", directory, reason)

    def spooling_ended(self) -> None:
        with self._lock:
            self._spooling = False

    def count_failed(self, reason: str, count: int = 1) -> None:
        with self._lock:
            self.failed += count
            self.last_failure = reason
        if count == 1:
            logger.error("phospho: an event was lost: %s", reason)
        else:
            logger.error("phospho: %d events were lost: %s", count, reason)

    def snapshot(self, pending: int, in_flight: int, spool_backlog_bytes: int, spooling: bool) -> dict[str, object]:
        return {
            "queued": self.queued,
            "delivered": self.delivered,
            "spooled": self.spooled,
            "failed": self.failed,
            "pending": pending,
            "in_flight": in_flight,
            "spool_backlog_bytes": spool_backlog_bytes,
            "spooling": spooling,
            "last_failure": self.last_failure,
        }
