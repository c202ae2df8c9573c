"""`phospho-stream delete-user USER_ID [--dry-run]`: a user's data removed from every table, a
tombstone kept so that nothing brings it back, an audit row written.

One sink owns a store (chDB opens its directory in one process only), so where the deletion runs
depends on what runs:
- a running `up`, or a pipeline on Kafka over a ClickHouse server: the request goes to the
  compacted control topic (`Topics.deletions`); the sink executes it between two writes and
  writes the audit row, which this command waits for through the read side;
- nothing running: this command opens the store and runs the same function (phospho_sinks.deletion).
`--dry-run` counts what would go, through the read side, and changes nothing.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Producer
from rich import box
from rich.console import Console
from rich.table import Table

from phospho_schemas import Topics
from phospho_sinks import QueryResult, Store, chdb_path
from phospho_sinks.deletion import DeletionRequest, audit_of, count_user_rows, delete_user

from ..engine.topics import ensure_topics
from ..errors import PhosphoStreamError
from ..read import find_running_up, open_source, open_store
from ..settings import PipelineSettings, ReadSettings, load_settings

__all__ = ["Deleted", "DeletionTimeout", "dry_run", "delete_in_store", "delete_through_sink", "run_delete_user"]

Read = Callable[..., QueryResult]


class DeletionTimeout(PhosphoStreamError):
    """The sink did not write the request's audit row in time (the request stays in its topic)."""


@dataclass(frozen=True)
class Deleted:
    request: DeletionRequest
    counts: dict[str, int]


def dry_run(read: Read, user_id: str) -> dict[str, int]:
    """What a deletion of `user_id` would remove, per table; nothing changes."""
    return count_user_rows(read, user_id)


def delete_in_store(store: Store, user_id: str) -> Deleted:
    """No sink runs on this store: the deletion runs here."""
    request = DeletionRequest(user_id)
    return Deleted(request, delete_user(store, request))


def send_request(bootstrap: str, topics: Topics, partitions: int, request: DeletionRequest) -> None:
    """The request on the control topic (created compacted when missing), keyed by the user."""
    ensure_topics(bootstrap, topics.compacted(), partitions, config={"cleanup.policy": "compact"},
                  error=PhosphoStreamError)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "log_level": 0})
    failures: list[Any] = []
    producer.produce(topics.deletions, request.to_json(), request.user_id.encode(),
                     on_delivery=lambda err, _: failures.append(err) if err is not None else None)
    if producer.flush(30) or failures:
        raise PhosphoStreamError(f"the deletion request did not reach Kafka at {bootstrap}: "
                                 f"{failures[0] if failures else 'no acknowledgement within 30 s'}")


def delete_through_sink(bootstrap: str, topics: Topics, partitions: int, read: Read, user_id: str,
                        timeout: float = 120.0) -> Deleted:
    """Ask the pipeline's sink to delete `user_id`, then wait for its audit row."""
    request = DeletionRequest(user_id)
    send_request(bootstrap, topics, partitions, request)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        audit = audit_of(read, request.request_id)
        if audit is not None:
            return Deleted(request, {table: int(n) for table, n in audit["counts"].items()})
        time.sleep(0.5)
    raise DeletionTimeout(f"the sink did not confirm request {request.request_id} within {timeout:.0f} s; it stays "
                          f"in {topics.deletions} and runs when the sink reads it (see phospho.deletions)")


def counts_table(title: str, counts: dict[str, int]) -> str:
    """`title`, then the rows per table and their total."""
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in counts.items():
        table.add_row(f"phospho.{name}", f"{rows:,}")
    table.add_row("total", f"{sum(counts.values()):,}")
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(table)
    return "\n".join([title, *(line.rstrip() for line in out.getvalue().splitlines() if line.strip())])


def run_delete_user(settings: ReadSettings, user_id: str, dry: bool = False, timeout: float = 120.0) -> str:
    """The command: what it removed (or, dry, would remove), per table. The sink of a running
    `up`, or of a pipeline on Kafka over a ClickHouse server, runs it; else this process does."""
    if dry:
        source = open_source(settings)
        try:
            return counts_table(f"delete-user {user_id} --dry-run: would remove (nothing was changed)",
                                dry_run(source.read, user_id))
        finally:
            source.close()
    pipeline = load_settings(PipelineSettings)
    running = find_running_up(settings.data_dir, settings.dsn)
    external = os.environ.get("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS") or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    bootstrap = running.bootstrap if running else (external if chdb_path(settings.store_dsn) is None else None)
    if bootstrap:
        topics = Topics((running.topic_prefix if running else None) or pipeline.topic_prefix)
        source = open_source(settings)
        try:
            deleted = delete_through_sink(bootstrap, topics, pipeline.topic_partitions, source.read, user_id, timeout)
        finally:
            source.close()
    else:
        store = open_store(settings)
        try:
            deleted = delete_in_store(store, user_id)
        finally:
            store.close()
    return counts_table(f"deleted user {user_id}: removed (request {deleted.request.request_id} by "
                        f"{deleted.request.requested_by}; audit row in phospho.deletions)", deleted.counts)
