"""`up`'s status: events in per second, rows written, each stage's lag, restarts; one line updated
in place on a terminal (rich), a plain line every few seconds otherwise, and status.json in the
data directory for `phospho-stream status`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer
from rich.console import Console

from phospho_schemas import Topics

from ..engine.evaluation import read_status, status_line
from ..engine.lag import lag

__all__ = ["StatusLine", "STATUS_FILE"]

STATUS_FILE = "status.json"


class StatusLine:
    """Refreshed by a daemon thread; `facts()` returns what it shows."""

    def __init__(self, bootstrap: str, topics: Topics, groups: dict[str, str], data_dir: Path,
                 extra: Callable[[], dict[str, Any]], every: float = 2.0) -> None:
        self.topics, self.groups, self.data_dir, self.extra, self.every = topics, groups, data_dir, extra, every
        self.console = Console(stderr=True)
        # one consumer per stage's group, never subscribed: it only reads that group's offsets
        self._groups = {stage: Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 0})
                        for stage, group in groups.items()}
        self._stop = threading.Event()
        self._last: tuple[float, int] | None = None
        self.notes: list[str] = []
        self.latest: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, name="phospho-status", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def note(self, line: str) -> None:
        """A line that scrolls above the status (a restart, a warning)."""
        self.console.print(line, highlight=False)

    def facts(self) -> dict[str, Any]:
        total, core_lag = lag(self._groups["core"], list(self.topics.core_inputs()))
        now = time.monotonic()
        rate = 0.0
        if self._last is not None and now > self._last[0]:
            rate = max(0.0, (total - self._last[1]) / (now - self._last[0]))
        self._last = (now, total)
        facts: dict[str, Any] = {"events_in": total, "events_per_s": round(rate, 1), "core_lag": core_lag}
        for stage in ("analytics", "evaluation"):
            if stage in self.groups:
                facts[f"{stage}_backlog"] = lag(self._groups[stage], [self.topics.analysis_tasks])[1]
        evaluation = read_status(self.data_dir)
        facts["evaluation"] = status_line(evaluation)
        facts["evaluation_state"] = evaluation.get("state") if evaluation else None
        facts.update(self.extra())
        return facts

    def render(self, facts: dict[str, Any]) -> str:
        parts = [f"{facts['events_per_s']:,.0f} events/s in", f"rows written {facts.get('rows_written', 0):,}",
                 f"core lag {facts['core_lag']:,}"]
        if "analytics_backlog" in facts:
            parts.append(f"analytics backlog {facts['analytics_backlog']:,}")
        if "evaluation_backlog" in facts:
            parts.append(f"evaluation backlog {facts['evaluation_backlog']:,}")
        if facts.get("evaluation_state") in ("waiting", "off"):
            parts.append(facts["evaluation"])  # why the evaluation waits (a budget, the endpoint), or is off
        if facts.get("store_paused"):
            parts.append("[bold red]STORE DOWN, sink paused[/]")
        if facts.get("restarts"):
            parts.append(f"[yellow]{facts['restarts']} worker restarts[/]")
        return " | ".join(parts)

    def _run(self) -> None:
        live = self.console.is_terminal
        while not self._stop.wait(self.every if live else max(self.every, 5.0)):
            try:
                facts = self.facts()
            except Exception as exc:  # noqa: BLE001 - the broker restarting: try again next time
                facts = {**self.latest, "error": str(exc)}
            self.latest = facts
            (self.data_dir / STATUS_FILE).write_text(json.dumps({**facts, "at": time.time()}))
            if "events_per_s" in facts:
                if live:
                    self.console.print(self.render(facts), end="\r", highlight=False, soft_wrap=True)
                else:
                    self.console.print(self.render(facts), highlight=False, soft_wrap=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for consumer in self._groups.values():
            consumer.close()
        if self.console.is_terminal:
            self.console.print()
