"""`phospho.init(exporter=...)`: another transport plugs in as an Exporter, no monkeypatching.
The processor hands it the encoded events (the wire contract's Avro messages); it counts what it
delivers; an exporter that raises loses only what it was given, counted, never raising into the
app."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import phospho
from phospho_schemas import EventDecoder

from tests.support.memory_exporter import memory_sdk


class ListExporter:
    """A transport of this test's own: appends each message to a list, as an HTTP or file
    exporter would send or write it."""

    made: list[ListExporter] = []

    def __init__(self, settings, stats, fail: bool = False) -> None:
        self.settings, self.stats, self.fail = settings, stats, fail
        self.sent: list[phospho.Message] = []
        self.kept_at_shutdown: list[phospho.Message] | None = None
        self.lock = threading.Lock()
        ListExporter.made.append(self)

    def export(self, messages: Sequence[phospho.Message]) -> None:
        if self.fail:
            raise ConnectionError("the other transport is down")
        with self.lock:
            self.sent += messages
        self.stats.count_delivered(len(messages))

    def send_now(self, message: phospho.Message) -> None:
        self.export([message])

    def tick(self, idle: bool) -> None:
        pass

    def flush(self, timeout: float) -> bool:
        return True

    def shutdown(self, remaining: Sequence[phospho.Message]) -> None:
        self.kept_at_shutdown = list(remaining)

    def in_flight(self) -> int:
        return 0

    def spooling(self) -> bool:
        return False

    def backlog_bytes(self) -> int:
        return 0


@pytest.fixture
def restored(tmp_path: Path) -> Iterator[Path]:
    """Whatever this test inits, the SDK's previous settings come back after it."""
    with memory_sdk(tmp_path / "memory"):
        yield tmp_path


def test_a_transport_of_its_own_gets_every_event_as_avro_messages(restored: Path) -> None:
    ListExporter.made.clear()
    phospho.init(project_id="seam", spool_dir=restored, exporter=ListExporter)
    exporter = ListExporter.made[-1]
    assert exporter.settings.project_id == "seam"
    before = phospho.stats()["delivered"]
    task = phospho.log(input="hi", output="hello", steps=[{"name": "lookup", "output": "42"}])
    phospho.user_feedback(task["task_id"], flag="success")
    assert phospho.flush(5)
    decoder = EventDecoder()
    got = [(m.topic, decoder.decode(m.value)) for m in exporter.sent]
    assert [(topic, kind) for topic, (kind, _) in got] == [
        ("phospho.tasks", "task"), ("phospho.spans", "span"), ("phospho.feedback", "feedback")]
    assert {record["task_id"] for _, (_, record) in got} == {task["task_id"]}
    assert all(isinstance(m.key, bytes) and m.key for m in exporter.sent)
    assert phospho.stats()["delivered"] - before == 3


def test_the_exporter_keeps_what_is_left_at_shutdown(restored: Path) -> None:
    ListExporter.made.clear()
    phospho.init(project_id="seam", spool_dir=restored, exporter=ListExporter)
    exporter = ListExporter.made[-1]
    assert phospho.shutdown(5)
    assert exporter.kept_at_shutdown == []


def test_an_exporter_that_raises_loses_only_its_events_counted_and_never_raises_into_the_app(restored: Path) -> None:
    phospho.init(project_id="seam", spool_dir=restored, max_queue_size=1,
                 exporter=lambda settings, stats: ListExporter(settings, stats, fail=True))
    failed = phospho.stats()["failed"]
    for i in range(5):  # a queue of 1: most of these go through send_now, in this thread
        phospho.log(input=f"q{i}", output="a")
    assert phospho.flush(2) is False
    stats = phospho.stats()
    assert stats["failed"] - failed == 5, stats
    assert "the other transport is down" in stats["last_failure"]


@pytest.mark.parametrize("factory, says", [
    ("not a factory", "exporter must be a factory"),
    (lambda settings, stats: object(), "is not a phospho.Exporter"),
    (lambda settings, stats: 1 / 0, "the exporter factory raised ZeroDivisionError"),
])
def test_a_wrong_exporter_is_a_configuration_error(restored: Path, factory, says: str) -> None:
    with pytest.raises(phospho.ConfigurationError, match=says):
        phospho.init(project_id="seam", spool_dir=restored, exporter=factory)
