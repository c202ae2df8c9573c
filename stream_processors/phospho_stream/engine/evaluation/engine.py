"""The evaluation stage without faust: the core's analysis records in; each task's verdict
(success, failure, or undefined with the reason) and its LLM events out, as partial task rows,
evaluation rows, event rows, and points that give sessions the verdict.

A batch's LLM calls run at once (within the endpoint's limits) on a loop of their own; then
rows and points are sent and acknowledged, then the state (histories, cache, pool, budget) is
written; only then does the caller acknowledge the input. A batch aborted midway (the worker
stops, or loses partitions) keeps the answers it got, in the cache, and raises BatchAborted:
read again, it is answered from the cache and pays for nothing twice.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from phospho_schemas import Topics

from ...config import ProjectConfig
from ...errors import BatchAborted, EngineError, LLMError
from ...llm import Caller, Endpoint, LoopThread, check_priced
from ...rules.analytics import TaskText
from ...rules.evaluation import evaluation_version
from ...settings import WorkerSettings
from ..clock import VersionClock
from ..output import Output, partition_of
from ..state_store import StateStore
from ..topics import ensure_pipeline_topics
from .jobs import TaskJobs, plan_task
from .rows import detected_names, evaluation_row, event_rows, task_row, verdict_point
from .state import EvaluationState
from .status import LagProbe, StatusWriter, status_path

__all__ = ["EvaluationEngine"]

logger = logging.getLogger("phospho.evaluation")


class EvaluationEngine:
    def __init__(self, settings: WorkerSettings, config: ProjectConfig, app_id: str,
                 clock: Callable[[], float] = time.time, status_dir: Path | None = None) -> None:
        if config.llm is None:
            raise LLMError("the evaluation stage needs an `llm:` section in the config")
        check_priced(config.llm, config.pricing)
        self.settings, self.config, self.llm, self.clock = settings, config, config.llm, clock
        self.app_id = app_id
        self.topics = Topics(settings.topic_prefix)
        self.version = evaluation_version(config.config_version)
        self.partitions = settings.topic_partitions
        self.out = Output(settings.bootstrap, self.topics, settings.worker_producer_batch_bytes)
        self.store = StateStore(settings.bootstrap, self.topics.state(app_id), self.partitions,
                                settings.state_replication)
        self.state = EvaluationState(self.store, config, self.partitions, settings.retention_ms)
        self.rows_clock = VersionClock()
        self.assignment: set[int] | None = None  # None: every partition (a single worker)
        self.loop = LoopThread()
        self.endpoint = Endpoint(self.llm)
        self.caller = Caller(self.endpoint, self.llm, config.pricing, self.state.cache, self.state.budget,
                             self.owned, clock)
        self.counts = {"evaluated": 0, "undefined": 0, "events": 0}
        self.batch_pending = 0
        self._abort = threading.Event()
        self._busy = threading.Lock()
        self._batch: concurrent.futures.Future[Any] | None = None
        self.status_writer = StatusWriter(
            status_path(status_dir or settings.data_path()), self.status,
            LagProbe(settings.bootstrap, app_id, self.topics.analysis_tasks))

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Create the topics it reads and writes and its changelog; start writing its status."""
        drift = ensure_pipeline_topics(self.settings.bootstrap, self.topics, self.partitions, self.settings.state_replication,
                                       self.config.privacy.retention.topic_ms, EngineError)
        if drift:
            logger.warning("%s", drift)
        self.store.ensure_topic()
        self.status_writer.start()

    def owned(self) -> set[int]:
        return set(range(self.partitions)) if self.assignment is None else set(self.assignment)

    def assign(self, partitions: set[int]) -> None:
        """The partitions this worker owns now (its share of the daily budget follows)."""
        self.assignment = set(partitions)

    def abort(self) -> None:
        """Stop the running batch (thread-safe, does not wait): its calls are cancelled and it
        raises BatchAborted; a batch started before `resume()` aborts at once."""
        self._abort.set()
        batch = self._batch
        if batch is not None:
            batch.cancel()

    def resume(self) -> None:
        self._abort.clear()

    def drop(self, partitions: set[int]) -> None:
        self.state.drop(partitions)
        if self.assignment is not None:
            self.assignment -= partitions

    def close(self) -> None:
        self.abort()
        if self._busy.acquire(timeout=60):
            self._busy.release()
        self.status_writer.close()
        try:
            self.loop.run(self.endpoint.close())
        finally:
            self.loop.close()
            self.out.close()
            self.store.close()

    # -- a batch -----------------------------------------------------------------------------
    def process(self, messages: list[tuple[str, int, int, bytes | None, bytes | None]],
                now_ms: int | None = None) -> dict[str, int]:
        with self._busy:
            return self._process(messages, int(self.clock() * 1000) if now_ms is None else now_ms)

    def _process(self, messages: list[tuple[str, int, int, bytes | None, bytes | None]],
                 now_ms: int) -> dict[str, int]:
        if self._abort.is_set():
            raise BatchAborted("the stage is stopping or rebalancing")
        plans: list[tuple[TaskJobs, TaskText, tuple[str, ...]]] = []
        learned = 0
        for topic, partition, offset, key, value in messages:
            history = self.state.history(partition)
            try:
                records = orjson.loads(value or b"")
                if not isinstance(records, list):
                    raise ValueError("not a JSON array")
            except ValueError as exc:
                self.out.dead_letter(f"unreadable analysis records: {exc}", topic, partition, offset, key, value)
                continue
            for record in records:
                kind = record.get("kind") if isinstance(record, dict) else None
                if kind == "task" and record.get("task_id") and record.get("session_key"):
                    skey, task_id = record["session_key"], record["task_id"]
                    before = history.events_of(skey, task_id)
                    jobs = plan_task(record, partition, history.tasks(skey), self.config, self.state.pool)
                    text = TaskText(task_id, record.get("input") or "", record.get("output"),
                                    created_at_ms=record.get("created_at_ms") or 0)
                    history.put(skey, text, before)
                    self.state.touch(partition, skey, now_ms)
                    plans.append((jobs, text, before))
                elif kind == "feedback" and record.get("task_id") and record.get("session_key"):
                    learned += self.state.learn(partition, record, now_ms)
        self._run([jobs for jobs, _, _ in plans], now_ms)
        rows = self._rows(plans, now_ms)
        self.out.send()
        self.state.write(self.clock())
        return {"records": len(messages), "tasks": len(plans), "learned": learned, "rows": rows}

    def _run(self, plans: list[TaskJobs], now_ms: int) -> None:
        """Every request of the batch, at once within the limits; BatchAborted if stopped."""
        self.batch_pending = sum((p.judge is not None) + len(p.events) for p in plans)
        if not self.batch_pending:
            return

        async def batch() -> None:
            async def one(jobs: TaskJobs) -> None:
                await jobs.run(self.caller)
                self.batch_pending -= (jobs.judge is not None) + len(jobs.events)
            await asyncio.gather(*(one(jobs) for jobs in plans))

        self._batch = self.loop.submit(batch())
        if self._abort.is_set():
            self._batch.cancel()
        try:
            self._batch.result()
        except concurrent.futures.CancelledError:
            self._keep_answers()
            raise BatchAborted(f"batch aborted with {self.batch_pending} of its requests unanswered; the "
                               "answers received are kept") from None
        finally:
            self._batch = None

    def _keep_answers(self) -> None:
        """An aborted batch: the answers it paid for and the budget it spent go to the state."""
        async def put() -> None:
            self.state.put_records(self.clock())
        self.loop.run(put())
        self.store.write()

    def _rows(self, plans: list[tuple[TaskJobs, TaskText, tuple[str, ...]]], now_ms: int) -> int:
        rows = 0
        with_events = bool(self.config.llm_events)
        for jobs, text, before in plans:
            p, skey = jobs.partition, jobs.record["session_key"]
            version = self.rows_clock.next()
            self.out.row("tasks", p, task_row(jobs, self.llm.model, now_ms, with_events))
            rows += 1
            if jobs.judged is not None:
                self.out.row("evaluations", p, evaluation_row(jobs, self.llm.model, version, now_ms))
                self.counts["evaluated"] += 1
                self.counts["undefined"] += jobs.judged.flag == "undefined"
                rows += 1
            for row in event_rows(jobs, before, self.version, version, now_ms):
                self.out.row("events", p, row)
                self.counts["events"] += not row["is_deleted"]
                rows += 1
            undecided = {d.event.event_name for d in jobs.detected if d.score is None}
            self.state.history(p).put(skey, text, tuple(detected_names(jobs)) +
                                      tuple(n for n in before if n in undecided))
        for jobs, _, _ in plans:  # versions taken last: a point's version is the time it is sent
            if jobs.judged is not None:
                self.out.record(self.topics.core_points, partition_of(jobs.record["session_key"], self.partitions),
                                verdict_point(jobs, self.rows_clock.next()))
        return rows

    # -- status ------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """What the stage is doing now (see status.py for the fields)."""
        stats, now = self.caller.stats, self.clock()
        failing = (self.batch_pending > 0 and stats.last_error_at_ms is not None
                   and stats.last_error_at_ms > (stats.last_answer_at_ms or 0))
        reason = stats.waiting or (f"retrying: {stats.last_error}" if failing else None)
        owned = self.owned()
        return {"stage": "evaluation", "state": "waiting" if reason else "running", "reason": reason,
                "model": self.llm.model, "batch_pending": self.batch_pending, "in_flight": self.caller.in_flight,
                "calls": stats.calls, "answered": stats.answered, "cache_hits": stats.cache_hits,
                "retries": stats.retries, "rejected": stats.rejected, **self.counts,
                "input_tokens": stats.input_tokens, "output_tokens": stats.output_tokens,
                "cost_usd": round(stats.cost_usd, 6),
                "budget": {"limit_usd": self.llm.daily_budget_usd, "allowance_usd": self.state.budget.allowance(owned),
                           "spent_today_usd": round(self.state.budget.spent(now, owned), 6)},
                "last_error": stats.last_error, "last_error_at_ms": stats.last_error_at_ms}
