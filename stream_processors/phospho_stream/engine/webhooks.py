"""Webhooks of detected events: POSTed by a daemon thread from a bounded queue, retried with
backoff, never blocking the stage; what could not be delivered is counted and dead-lettered."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

__all__ = ["WebhookSender", "WebhookStats"]

logger = logging.getLogger("phospho.analytics")


@dataclass
class WebhookStats:
    queued: int = 0
    delivered: int = 0
    failed: int = 0  # given up on after the retries
    dropped: int = 0  # the queue was full
    last_error: str | None = None


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in (408, 425, 429) or exc.response.status_code >= 500
    return isinstance(exc, httpx.TransportError)


class WebhookSender:
    def __init__(self, on_failure: Callable[[str, dict[str, Any], str], None], max_queue: int = 10_000,
                 attempts: int = 5, timeout: float = 5.0, backoff_max: float = 30.0) -> None:
        self.stats = WebhookStats()
        self._queue: queue.Queue[tuple[str, dict[str, str], dict[str, Any]] | None] = queue.Queue(max_queue)
        self._on_failure, self._attempts, self._backoff_max = on_failure, attempts, backoff_max
        self._client = httpx.Client(timeout=timeout)
        self._thread = threading.Thread(target=self._run, name="phospho-webhooks", daemon=True)
        self._thread.start()

    def send(self, url: str, headers: dict[str, str] | None, payload: dict[str, Any]) -> None:
        """Queue a POST; never blocks (a full queue drops it, counted)."""
        try:
            self._queue.put_nowait((url, {k: v for k, v in (headers or {}).items() if v}, payload))
            self.stats.queued += 1
        except queue.Full:
            self.stats.dropped += 1
            self._on_failure(url, payload, "the webhook queue is full")

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            url, headers, payload = item
            try:
                for attempt in Retrying(stop=stop_after_attempt(self._attempts), reraise=True,
                                        wait=wait_exponential(multiplier=0.5, max=self._backoff_max),
                                        retry=retry_if_exception(_retryable)):
                    with attempt:
                        self._client.post(url, json=payload, headers=headers).raise_for_status()
                self.stats.delivered += 1
            except Exception as exc:  # noqa: BLE001 - a failed webhook must not stop the others
                self.stats.failed += 1
                self.stats.last_error = f"{url}: {exc}"
                logger.warning("phospho analytics: webhook %s failed: %s", url, exc)
                self._on_failure(url, payload, str(exc))

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)
        self._client.close()
