"""The seam between the batch processor and a transport: the Exporter protocol and its Message.

The processor (its one daemon thread) encodes queued events into Messages and hands them to an
Exporter; `KafkaExporter` is the default one. Another transport, or a test, passes its own to
`phospho.init(exporter=...)`: a factory called as `factory(settings, stats)` (again in a forked
child) that returns an object with the methods below. The exporter counts what it delivers
(`stats.count_delivered`), spools (`stats.count_spooled`) or loses (`stats.count_failed`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol, runtime_checkable

from .._core.settings import Settings
from .._core.stats import Stats

__all__ = ["Exporter", "ExporterFactory", "Message"]


class Message(NamedTuple):
    """One encoded event: its topic, its Kafka key and its Avro value (the wire contract)."""

    topic: str
    key: bytes
    value: bytes


@runtime_checkable
class Exporter(Protocol):
    """Where encoded events go. Every method is called from the processor's thread, except
    `send_now`, `in_flight`, `spooling` and `backlog_bytes` (the app's threads); none may raise
    or block the app."""

    def export(self, messages: Sequence[Message]) -> None:
        """Take these messages: deliver them, or keep them for later."""

    def send_now(self, message: Message) -> None:
        """Take one message from an app thread (the queue is full): thread-safe, never blocking."""

    def tick(self, idle: bool) -> None:
        """Periodic work between batches (delivery reports, reconnecting, sending a backlog);
        `idle`: the queue is empty, a good time to send a backlog."""

    def flush(self, timeout: float) -> bool:
        """Within `timeout` seconds: True once every message taken so far is delivered."""

    def shutdown(self, remaining: Sequence[Message]) -> None:
        """The processor stops: keep `remaining` (its last messages) and whatever is not
        delivered for the next start (Kafka: in the spool), then release resources."""

    def in_flight(self) -> int:
        """Messages taken whose delivery is not settled yet."""

    def spooling(self) -> bool:
        """Whether messages are being kept instead of delivered (the transport is down)."""

    def backlog_bytes(self) -> int:
        """Bytes kept for later delivery."""


#: `factory(settings, stats) -> Exporter`: what phospho.init(exporter=...) takes
ExporterFactory = Callable[[Settings, Stats], Exporter]
