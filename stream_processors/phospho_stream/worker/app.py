"""The faust App every stage runs on, and running one until it is stopped."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

import faust

from ..settings import WorkerSettings
from .transport import FetchWaitTransport

__all__ = ["build_app", "run_app", "fail_fast", "EngineCalls", "batch_of"]

logger = logging.getLogger("phospho.worker")


def build_app(settings: WorkerSettings, app_id: str) -> faust.App:
    """A faust App reading raw bytes (the stages decode them), with state kept by the stages
    themselves (`engine.state_store`), rebalances within seconds, and fetches that wait
    `worker_fetch_wait_seconds`."""
    datadir = settings.data_path() / "faust"
    datadir.mkdir(parents=True, exist_ok=True)  # faust does not create it
    app = faust.App(
        app_id,
        datadir=str(datadir),
        broker=f"kafka://{settings.bootstrap}",
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=6,
        broker_rebalance_timeout=6,
        broker_heartbeat_interval=1,
        stream_wait_empty=False,
        worker_redirect_stdouts=False,
    )
    app.transport = FetchWaitTransport(app.conf.broker_consumer, app,
                                       fetch_wait_ms=int(settings.worker_fetch_wait_seconds * 1000))
    return app


def fail_fast(what: str, exc: BaseException) -> None:
    """A stage that cannot make a batch durable stops at once, without acknowledging it: its
    restart reads again from the last committed offsets, and replaying is harmless."""
    logger.critical("phospho-stream %s: %s: %s; stopping (the batch will be read again)", what, type(exc).__name__, exc)
    sys.stderr.flush()
    os._exit(1)


def batch_of(events: Any) -> list[tuple[str, int, int, bytes | None, bytes | None]]:
    """A batch of faust events as the engines take it: (topic, partition, offset, key, value)."""
    return [(m.topic, m.partition, m.offset, m.key, m.value) for m in (e.message for e in events)]


class EngineCalls:
    """A stage engine's methods called one at a time (batches, timers, rebalances) in a thread,
    so faust's loop keeps fetching; a failure stops the worker unacknowledged (`fail_fast`),
    but for the exceptions in `passed` and a cancellation, which reach the caller (after
    `on_cancel` for the latter)."""

    def __init__(self, stage: str, passed: tuple[type[BaseException], ...] = (),
                 on_cancel: Callable[[], Any] | None = None) -> None:
        self.stage, self.passed, self.on_cancel = stage, passed, on_cancel
        self._turn = asyncio.Lock()

    async def __call__(self, what: str, method: Callable[..., Any], *args: Any) -> Any:
        async with self._turn:
            try:
                return await asyncio.to_thread(method, *args)
            except asyncio.CancelledError:
                if self.on_cancel is not None:
                    self.on_cancel()
                raise
            except Exception as exc:  # noqa: BLE001 - any failure stops the stage unacknowledged
                if isinstance(exc, self.passed):
                    raise
                fail_fast(f"{self.stage} worker ({what})", exc)


def run_app(app: faust.App, loglevel: str = "warn", on_stop: Callable[[], Any] | None = None) -> None:
    """Run the App's worker until SIGINT/SIGTERM (faust's own signal handling and rebalancing)."""
    worker = faust.Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.spinner = None  # no terminal spinner (and its escape codes) in the logs `up` keeps
    try:
        worker.execute_from_commandline()
    finally:
        if on_stop is not None:
            on_stop()
