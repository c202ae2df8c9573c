"""Topics runs repeated in a daemon thread, for `up` (`--topics-every`): each run reads through
the reader it is given (the store `up` holds), and a run that cannot be made (too few tasks yet,
the endpoint down) is logged and tried again at the next turn."""

from __future__ import annotations

import logging
import threading

from ..config import ProjectConfig
from ..settings import WorkerSettings
from .job import TopicsRun, run_topics
from .source import Reader

__all__ = ["TopicsSchedule"]

logger = logging.getLogger("phospho.topics")


class TopicsSchedule:
    def __init__(self, settings: WorkerSettings, config: ProjectConfig, read: Reader, every_s: float,
                 since_ms: int) -> None:
        self.settings, self.config, self.read = settings, config, read
        self.every_s, self.since_ms = every_s, since_ms
        self.last: TopicsRun | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="phospho-topics", daemon=True)

    def start(self) -> TopicsSchedule:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.last = run_topics(self.settings, self.config, self.read, self.since_ms)
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - a run that fails is tried again next time
                self.last_error = f"{type(exc).__name__}: {exc}"
                logger.info("phospho topics: no run this time: %s", self.last_error)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
