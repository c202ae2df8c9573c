"""The analytics stage without faust: the core's analysis records in, each task's language,
sentiment, events and cost out, as partial task rows, event rows and points for the sessions.

A batch is made durable as the core's are: rows and points sent and acknowledged, then the
state (each session's latest tasks) written; a batch read again changes nothing it had not.
A task whose analysis failed still gets its row, with the errors.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson

from phospho_schemas import Topics

from ..config import ProjectConfig
from ..errors import EngineError
from ..rules.analytics import Analysis, Analyzer, Detection, Started, TaskText
from ..rules.analytics.cost import task_cost
from ..settings import WorkerSettings
from .clock import VersionClock
from .history import SessionHistory
from .output import Output, partition_of
from .state_store import StateStore
from .topics import ensure_pipeline_topics
from .webhooks import WebhookSender

__all__ = ["AnalyticsEngine"]

logger = logging.getLogger("phospho.analytics")


def _usage(record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The task's own usage and its spans' usage, as the cost rules read them."""
    model, prompt, completion, cached = (record.get("usage") or [None, None, None, None])[:4]
    usage = None
    if prompt is not None or completion is not None:
        usage = {"prompt_tokens": prompt or 0, "completion_tokens": completion or 0}
        if cached:
            usage["prompt_tokens_details"] = {"cached_tokens": cached}
    spans = [{"model": m, "input_tokens": i, "output_tokens": o, "cached_tokens": c}
             for m, (i, o, c) in (record.get("span_usage") or {}).items()]
    return usage, spans


def _task_text(record: dict[str, Any]) -> TaskText:
    usage, spans = _usage(record)
    return TaskText(record["task_id"], record.get("input") or "", record.get("output"), record.get("system_prompt"),
                    record.get("model"), usage, spans, record.get("created_at_ms") or 0)


class AnalyticsEngine:
    def __init__(self, settings: WorkerSettings, config: ProjectConfig, app_id: str) -> None:
        self.settings, self.config = settings, config
        self.topics = Topics(settings.topic_prefix)
        self.analyzer = Analyzer(config)
        self.version = self.analyzer.version
        self.out = Output(settings.bootstrap, self.topics, settings.worker_producer_batch_bytes)
        self.store = StateStore(settings.bootstrap, self.topics.state(app_id), settings.topic_partitions,
                                settings.state_replication)
        self.clock = VersionClock()
        self.histories: dict[int, SessionHistory] = {}
        self.webhooks = WebhookSender(self._webhook_failed) if any(e.webhook for e in config.events) else None
        self._hooks = {e.event_name: e for e in config.active_events if e.webhook}

    def warm_up(self) -> None:
        """Analyse a made-up task: the rules load their models and tables now, not in the first batch."""
        self.analyzer.analyze(TaskText("warm-up", "Hello, how are you? I would like a refund.", "Sure, here it is.",
                                       "Be concise.", "gpt-4o", {"prompt_tokens": 10, "completion_tokens": 5}))

    def ensure_topics(self) -> None:
        drift = ensure_pipeline_topics(self.settings.bootstrap, self.topics, self.settings.topic_partitions,
                                       self.settings.state_replication, self.config.privacy.retention.topic_ms, EngineError)
        if drift:
            logger.warning("%s", drift)
        self.store.ensure_topic()

    def process(self, messages: list[tuple[str, int, int, bytes | None, bytes | None]],
                now_ms: int | None = None) -> dict[str, int]:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        batch: list[tuple[int, dict[str, Any]]] = []
        for topic, partition, offset, key, value in messages:
            self._history(partition)
            try:
                records = orjson.loads(value or b"")
                if not isinstance(records, list):
                    raise ValueError("not a JSON array")
            except ValueError as exc:
                self.out.dead_letter(f"unreadable analysis records: {exc}", topic, partition, offset, key, value)
                continue
            batch.extend((partition, record) for record in records)
        tasks = [_task_text(record) for _, record in batch if record.get("kind") == "task"]
        started = iter(self.analyzer.start(tasks))
        for partition, record in batch:
            kind = record.get("kind")
            if kind == "task":
                self._analyze(partition, self.histories[partition], record, next(started), now_ms)
            elif kind == "usage":
                self._cost(partition, record, now_ms)
        rows = self.out.send()
        for partition, history in self.histories.items():
            for key, blob in history.records():
                self.store.put(partition, key, blob)
        self.store.write()
        return {"records": len(messages), "analysed": len(tasks), "rows": rows}

    def _history(self, partition: int) -> SessionHistory:
        history = self.histories.get(partition)
        if history is None:
            analytics = self.config.analytics
            history = self.histories[partition] = SessionHistory(analytics.session_history, analytics.max_chars)
            history.load(self.store.recover(partition))
        return history

    def _analyze(self, partition: int, history: SessionHistory, record: dict[str, Any], started: Started,
                 now_ms: int) -> None:
        skey, task_id, text = record["session_key"], record["task_id"], started.task
        result = self.analyzer.finish(started, history.earlier(skey, self.analyzer.earlier))
        names = result.event_names
        self.out.row("tasks", partition, self._task_row(result, now_ms))
        self._events(partition, record, text.created_at_ms, result.events, history.events_of(skey, task_id), now_ms)
        history.put(skey, text, names, self.analyzer.kept(started))
        self._point(skey, task_id, {"lang": result.language or "", "sent": result.sentiment_score,
                                    "ev": list(names), "cost": result.cost_usd})
        self._revisit(partition, history, record, text.created_at_ms, now_ms)

    def _events(self, partition: int, record: dict[str, Any], created_at_ms: int, detected: tuple[Detection, ...],
                before: tuple[str, ...], now_ms: int) -> None:
        """A task's event rows: what it is detected now, and retractions of what it no longer is."""
        task_id, version = record["task_id"], self.clock.next()
        base = {"task_id": task_id, "session_id": record.get("session_id") or "", "user_id": record.get("user_id"),
                "analytics_version": self.version, "created_at_ms": created_at_ms, "detected_at_ms": now_ms,
                "version": version}
        for detection in detected:
            self.out.row("events", partition, {
                **base, "event_name": detection.event_name, "source": detection.source,
                "detection_scope": detection.detection_scope, "score": detection.score,
                "score_type": detection.score_type, "label": detection.label, "is_deleted": 0})
            hook = self._hooks.get(detection.event_name)
            if hook is not None and self.webhooks is not None and detection.event_name not in before:
                self.webhooks.send(hook.webhook, hook.webhook_headers, {
                    "event_name": detection.event_name, "task_id": task_id, "session_id": record.get("session_id"),
                    "user_id": record.get("user_id"), "score": detection.score, "source": detection.source,
                    "detection_scope": detection.detection_scope, "analytics_version": self.version,
                    "idempotency_key": f"{task_id}:{detection.event_name}:{self.version}"})
        for gone in set(before) - {d.event_name for d in detected}:
            self.out.row("events", partition, {
                **base, "event_name": gone, "source": "", "detection_scope": "", "score": 0.0, "score_type": "",
                "label": None, "is_deleted": 1})

    def _revisit(self, partition: int, history: SessionHistory, record: dict[str, Any], at_ms: int,
                 now_ms: int) -> None:
        """A task that came late changes what its session's later tasks saw before them: their
        events are detected again (within the history kept), whatever the arrival order was."""
        skey = record["session_key"]
        kept = history.earlier(skey, self.analyzer.earlier)
        for task in [t for t in kept if t.created_at_ms > at_ms]:
            before = history.events_of(skey, task.task_id)
            result = self.analyzer.redetect(task, before, kept)
            names = result.event_names
            if set(names) == set(before):
                continue
            self.out.row("tasks", partition, {"task_id": task.task_id, "events": orjson.dumps(names).decode()})
            self._events(partition, {**record, "task_id": task.task_id}, task.created_at_ms, result.events, before,
                         now_ms)
            history.retag(skey, task.task_id, names)
            self._point(skey, task.task_id, {"ev": list(names)})

    def _task_row(self, result: Analysis, now_ms: int) -> dict[str, Any]:
        row = {"task_id": result.task_id, "sentiment_score": result.sentiment_score,
               "sentiment_magnitude": result.sentiment_magnitude, "sentiment_label": result.sentiment_label,
               "sentiment_method": result.sentiment_method or "", "events": orjson.dumps(result.event_names).decode(),
               "cost_usd": result.cost_usd, "cost_note": result.cost_note or "",
               "analytics_truncated": orjson.dumps(result.truncated).decode(),
               "analytics_errors": orjson.dumps([f"{e.step}{f' ({e.event_name})' if e.event_name else ''}: "
                                                 f"{e.message}" for e in result.errors]).decode(),
               "analytics_version": result.analytics_version, "analyzed_at_ms": now_ms}
        if result.language is not None:
            row["language"] = result.language
        return row

    def _cost(self, partition: int, record: dict[str, Any], now_ms: int) -> None:
        """The task's spans changed after its analysis: its cost again."""
        usage, spans = _usage(record)
        cost = task_cost((record.get("usage") or [None])[0], usage, spans, self.config.pricing,
                         record.get("created_at_ms") or 0)
        self.out.row("tasks", partition, {"task_id": record["task_id"], "cost_usd": cost.usd,
                                          "cost_note": cost.note or ""})
        self._point(record["session_key"], record["task_id"], {"cost": cost.usd})

    def _point(self, skey: str, task_id: str, figures: dict[str, Any]) -> None:
        point = {"t": task_id, "k": skey, "av": self.clock.next(), **figures}
        self.out.record(self.topics.core_points, partition_of(skey, self.settings.topic_partitions), point)

    def _webhook_failed(self, url: str, payload: dict[str, Any], reason: str) -> None:
        """A webhook given up on: a dead letter says which, and why (the next batch flushes it)."""
        self.out.dead_letter(f"webhook {url} failed for event {payload.get('event_name')} of task "
                             f"{payload.get('task_id')}: {reason}", f"webhook:{payload.get('event_name')}", 0,
                             self.clock.next(), (payload.get("task_id") or "").encode(), orjson.dumps(payload))

    def drop(self, partitions: set[int]) -> None:
        for partition in partitions:
            self.histories.pop(partition, None)
        self.store.discard(partitions)

    def close(self) -> None:
        if self.webhooks is not None:
            self.webhooks.close()
        self.out.close()
        self.store.close()
