"""What the evaluation stage is doing, for the `up` status line and `phospho-stream status`:
one small JSON file per worker process, `<data_dir>/status/evaluation-<pid>.json`, rewritten
every second (atomically), and `read_status` to merge the files of the workers still alive.

Fields: state (running | waiting | off), reason, backlog (messages of the input topic not yet
committed by the stage's consumer group), batch_pending (tasks of the current batch not done),
in_flight, calls, cache_hits, retries, rejected, evaluated, undefined, events, tokens, cost_usd,
budget {limit_usd, allowance_usd, spent_today_usd}, last_error, last_error_at_ms.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from ...config import ProjectConfig

__all__ = ["StatusWriter", "LagProbe", "read_status", "write_off_status", "status_path", "status_line", "off_reason",
           "STATUS_DIR"]

STATUS_DIR = "status"
logger = logging.getLogger("phospho.evaluation")


def status_path(data_dir: Path, pid: int | None = None) -> Path:
    return Path(data_dir) / STATUS_DIR / f"evaluation-{os.getpid() if pid is None else pid}.json"


def _write(path: Path, status: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(status, sort_keys=True))
    os.replace(tmp, path)


def off_reason(config: ProjectConfig) -> str | None:
    """Why the stage has nothing to do with this config (None: it has work). `up` starts no
    evaluation worker then; `worker --stage evaluation` says it and exits."""
    if config.llm is None:
        return "the config has no `llm:` section (an OpenAI-compatible endpoint), so nothing is evaluated"
    if (config.evaluation is None or not config.evaluation.enabled) and not config.llm_events:
        return "the config enables no evaluation (`evaluation: {enabled: true}`) and defines no llm_detection event"
    return None


def write_off_status(data_dir: Path, reason: str) -> Path:
    """The stage is off (no `llm:` in the config...): say so where the status is read."""
    path = status_path(data_dir)
    _write(path, {"stage": "evaluation", "state": "off", "reason": reason, "pid": os.getpid(),
                  "updated_at_ms": int(time.time() * 1000)})
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_status(data_dir: Path) -> dict[str, Any] | None:
    """The evaluation stage's status over its live workers (sums of their counters; the backlog
    is the group's, the same in each); when none runs, the latest `off` file; else None."""
    files = sorted((Path(data_dir) / STATUS_DIR).glob("evaluation-*.json"))
    statuses = []
    for path in files:
        try:
            status = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(status, dict) and (status.get("state") == "off" or _alive(int(status.get("pid", -1)))):
            statuses.append(status)  # an `off` file says what the config is, whether its writer lives or not
    running = [s for s in statuses if s.get("state") != "off"]
    if not running:
        return max(statuses, key=lambda s: s.get("updated_at_ms", 0)) if statuses else None
    merged: dict[str, Any] = {"stage": "evaluation", "workers": len(running),
                              "updated_at_ms": max(s.get("updated_at_ms", 0) for s in running)}
    waiting = [s for s in running if s.get("state") == "waiting"]
    merged["state"] = "waiting" if waiting else "running"
    merged["reason"] = waiting[0].get("reason") if waiting else None
    merged["backlog"] = max((s.get("backlog") for s in running if s.get("backlog") is not None), default=None)
    for name in ("batch_pending", "in_flight", "calls", "cache_hits", "retries", "rejected", "evaluated",
                 "undefined", "events", "input_tokens", "output_tokens", "cost_usd"):
        merged[name] = sum(s.get(name) or 0 for s in running)
    budgets = [s["budget"] for s in running if s.get("budget")]
    if budgets:
        merged["budget"] = {"limit_usd": budgets[0].get("limit_usd"),
                            "spent_today_usd": sum(b.get("spent_today_usd") or 0 for b in budgets)}
    errors = [s for s in running if s.get("last_error")]
    if errors:
        latest = max(errors, key=lambda s: s.get("last_error_at_ms") or 0)
        merged["last_error"], merged["last_error_at_ms"] = latest["last_error"], latest.get("last_error_at_ms")
    return merged


class LagProbe:
    """Messages of `topic` that the consumer group `group` has not committed yet."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.topic = topic
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 0,
                                   "enable.auto.commit": False})

    def lag(self) -> int | None:
        try:
            meta = self._consumer.list_topics(self.topic, timeout=5).topics.get(self.topic)
            if meta is None or meta.error is not None:
                return None
            parts = [TopicPartition(self.topic, p) for p in meta.partitions]
            committed = {tp.partition: tp.offset for tp in self._consumer.committed(parts, timeout=5)}
            total = 0
            for tp in parts:
                low, high = self._consumer.get_watermark_offsets(tp, timeout=5)
                done = committed.get(tp.partition, -1)
                total += max(0, high - (done if done >= 0 else low))
            return total
        except Exception:  # noqa: BLE001 - a status that cannot be read now is read next time
            return None

    def close(self) -> None:
        self._consumer.close()


class StatusWriter:
    """Rewrites the status file every `interval` seconds from `snapshot()`, with the backlog."""

    def __init__(self, path: Path, snapshot: Callable[[], dict[str, Any]], probe: LagProbe | None,
                 interval: float = 1.0, lag_every: float = 2.0) -> None:
        self.path, self._snapshot, self._probe = path, snapshot, probe
        self._interval, self._lag_every = interval, lag_every
        self.backlog: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="phospho-evaluation-status", daemon=True)

    def start(self) -> StatusWriter:
        if not self._thread.is_alive():
            self._thread.start()
        return self

    def write_now(self) -> dict[str, Any]:
        status = {**self._snapshot(), "backlog": self.backlog, "pid": os.getpid(),
                  "updated_at_ms": int(time.time() * 1000)}
        _write(self.path, status)
        return status

    def _run(self) -> None:
        next_lag = 0.0
        while not self._stop.is_set():
            if self._probe is not None and time.monotonic() >= next_lag:
                lag = self._probe.lag()
                self.backlog = lag if lag is not None else self.backlog
                next_lag = time.monotonic() + self._lag_every
            try:
                self.write_now()
            except Exception as exc:  # noqa: BLE001 - a status not written now is written next time
                logger.debug("evaluation status not written: %s", exc)
            self._stop.wait(self._interval)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        if self._probe is not None:
            self._probe.close()
        self.path.unlink(missing_ok=True)


def status_line(status: dict[str, Any] | None) -> str:
    """The stage's status in one short line, for `up`'s status line and `phospho-stream status`:
    'eval: backlog 120 | 4 in flight | 1,502 calls, 310 cached | $0.42 of $5.00 today', or why
    it waits, or that it is off."""
    if status is None:
        return "eval: not running"
    if status.get("state") == "off":
        return f"eval: off ({status.get('reason')})"
    parts = [f"backlog {status['backlog']:,}" if status.get("backlog") is not None else "backlog ?",
             f"{status.get('in_flight', 0)} in flight",
             f"{status.get('calls', 0):,} calls, {status.get('cache_hits', 0):,} cached"]
    budget = status.get("budget") or {}
    if budget.get("limit_usd") is not None:
        parts.append(f"${budget.get('spent_today_usd') or 0:.2f} of ${budget['limit_usd']:.2f} today")
    if status.get("state") == "waiting":
        parts.append(f"WAITING: {status.get('reason')}")
    elif status.get("last_error"):
        parts.append(f"last error: {status['last_error']}")
    return "eval: " + " | ".join(parts)
