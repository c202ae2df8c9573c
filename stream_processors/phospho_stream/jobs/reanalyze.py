"""`phospho-stream reanalyze`: the analysis run again over stored tasks, after a config change.

Stored tasks are read (through the read side) session by session, in time order, so that
session-scope events see each task's history; the analytics rules run with the project config
given; the results go through the pipeline like the analytics stage's: partial task rows and
event rows (an event no longer detected is retracted) to the row topics, points to the core's
sessions (which update the windows they still hold), and, for every window read, its session
row with the new figures. The sink writes them; the views then show the new config's version.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from phospho_schemas import Topics

from ..config import ProjectConfig
from ..engine.clock import VersionClock
from ..engine.output import Output, partition_of
from ..rules.analytics import Analysis, TaskText, analytics_version, analyze

__all__ = ["Reanalysis", "reanalyze"]

Reader = Callable[..., Any]

_TASKS = """SELECT task_id, session_key, session_id, user_id, session_window_id, toUnixTimestamp64Milli(created_at) AS at,
    input, output, system_prompt, model, prompt_tokens, completion_tokens, cached_tokens
    FROM phospho.tasks WHERE session_key IN (SELECT arrayJoin(JSONExtract({keys:String}, 'Array(String)'))) ORDER BY session_key, created_at, task_id"""
_SPANS = """SELECT task_id, coalesce(response_model, request_model) AS model, sum(ifNull(input_tokens, 0)) AS i,
    sum(ifNull(output_tokens, 0)) AS o, sum(ifNull(cached_input_tokens, 0)) AS c
    FROM phospho.spans WHERE task_id IN (SELECT arrayJoin(JSONExtract({ids:String}, 'Array(String)'))) AND isNotNull(model) GROUP BY task_id, model"""
_EVENTS = """SELECT task_id, event_name FROM phospho.events WHERE task_id IN (SELECT arrayJoin(JSONExtract({ids:String}, 'Array(String)')))"""
_SESSIONS = """SELECT window_id, session_key, session_id, user_id, toUnixTimestamp64Milli(start_time) AS start_ms,
    toUnixTimestamp64Milli(end_time) AS end_ms, task_count, first_input, last_input, total_tokens, success_count,
    failure_count, tasks_with_errors FROM phospho.sessions WHERE window_id IN (SELECT arrayJoin(JSONExtract({ids:String}, 'Array(String)')))"""
_KEYS = """SELECT DISTINCT session_key FROM phospho.tasks WHERE created_at >= fromUnixTimestamp64Milli({since:Int64})
    AND ({project:String} = '' OR project_id = {project:String}) ORDER BY session_key"""


@dataclass
class Reanalysis:
    tasks: int = 0
    events: int = 0
    retracted: int = 0
    sessions: int = 0
    version: str = ""


def _json(values: list[str]) -> str:
    """A list as a query parameter (bound as JSON text: every reader passes strings through)."""
    return orjson.dumps(values).decode()


def _pages(keys: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(keys), size):
        yield keys[start:start + size]


def reanalyze(read: Reader, bootstrap: str, topics: Topics, partitions: int, config: ProjectConfig,
              since_ms: int = 0, project_id: str | None = None, sessions_per_batch: int = 200,
              progress: Callable[[int, int], None] | None = None) -> Reanalysis:
    """Analyse again every stored task of the sessions that have one since `since_ms` (of one
    project, when given)."""
    keys = [key for (key,) in read(_KEYS, {"since": since_ms, "project": project_id or ""}).rows]
    out, clock = Output(bootstrap, topics), VersionClock()
    result = Reanalysis(version=analytics_version(config))
    try:
        for done, page in enumerate(_pages(keys, sessions_per_batch)):
            _batch(read, page, out, clock, topics, partitions, config, result)
            out.send()
            if progress is not None:
                progress(min(len(keys), (done + 1) * sessions_per_batch), len(keys))
    finally:
        out.close()
    return result


def _batch(read: Reader, keys: list[str], out: Output, clock: VersionClock, topics: Topics, partitions: int,
           config: ProjectConfig, result: Reanalysis) -> None:
    tasks = read(_TASKS, {"keys": _json(keys)}).dicts()
    ids = _json([t["task_id"] for t in tasks])
    spans: dict[str, list[dict[str, Any]]] = {}
    for row in read(_SPANS, {"ids": ids}).dicts():
        spans.setdefault(row["task_id"], []).append(
            {"model": row["model"], "input_tokens": row["i"], "output_tokens": row["o"], "cached_tokens": row["c"]})
    stored: dict[str, set[str]] = {}
    for task_id, name in read(_EVENTS, {"ids": ids}).rows:
        stored.setdefault(task_id, set()).add(name)
    history: dict[str, list[TaskText]] = {}
    windows: dict[str, list[Analysis]] = {}
    now_ms = int(time.time() * 1000)
    for task in tasks:
        usage = {"prompt_tokens": task["prompt_tokens"] or 0, "completion_tokens": task["completion_tokens"] or 0,
                 "prompt_tokens_details": {"cached_tokens": task["cached_tokens"] or 0}}
        text = TaskText(task["task_id"], task["input"], task["output"], task["system_prompt"], task["model"],
                        usage if task["prompt_tokens"] is not None else None, spans.get(task["task_id"], ()),
                        task["at"])
        seen = history.setdefault(task["session_key"], [])
        analysis = analyze(text, seen, config)
        seen.append(text)
        partition = partition_of(task["session_key"], partitions)
        _write(out, clock, topics, partition, task, analysis, stored.get(task["task_id"], set()), now_ms, result)
        out.record(topics.core_points, partition, {
            "t": task["task_id"], "k": task["session_key"], "av": clock.next(), "lang": analysis.language or "",
            "sent": analysis.sentiment_score, "ev": list(analysis.event_names), "cost": analysis.cost_usd})
        if task["session_window_id"]:
            windows.setdefault(task["session_window_id"], []).append(analysis)
        result.tasks += 1
    _sessions(read, out, clock, partitions, windows, result)


def _write(out: Output, clock: VersionClock, topics: Topics, partition: int, task: dict[str, Any],
           analysis: Analysis, stored: set[str], now_ms: int, result: Reanalysis) -> None:
    row = {"task_id": analysis.task_id, "sentiment_score": analysis.sentiment_score,
           "sentiment_magnitude": analysis.sentiment_magnitude, "sentiment_label": analysis.sentiment_label,
           "sentiment_method": analysis.sentiment_method or "", "events": orjson.dumps(analysis.event_names).decode(),
           "cost_usd": analysis.cost_usd, "cost_note": analysis.cost_note or "",
           "analytics_truncated": orjson.dumps(analysis.truncated).decode(),
           "analytics_errors": orjson.dumps([f"{e.step}: {e.message}" for e in analysis.errors]).decode(),
           "analytics_version": analysis.analytics_version, "analyzed_at_ms": now_ms}
    if analysis.language is not None:
        row["language"] = analysis.language
    out.row("tasks", partition, row)
    version = clock.next()
    base = {"task_id": analysis.task_id, "session_id": task["session_id"] or "", "user_id": task["user_id"],
            "analytics_version": analysis.analytics_version, "created_at_ms": task["at"], "detected_at_ms": now_ms,
            "version": version}
    for d in analysis.events:
        out.row("events", partition, {**base, "event_name": d.event_name, "source": d.source,
                                      "detection_scope": d.detection_scope, "score": d.score,
                                      "score_type": d.score_type, "label": d.label, "is_deleted": 0})
        result.events += 1
    for gone in stored - set(analysis.event_names):
        out.row("events", partition, {**base, "event_name": gone, "source": "", "detection_scope": "", "score": 0.0,
                                      "score_type": "", "label": None, "is_deleted": 1})
        result.retracted += 1


def _sessions(read: Reader, out: Output, clock: VersionClock, partitions: int, windows: dict[str, list[Analysis]],
              result: Reanalysis) -> None:
    """Each window read, with its analysis figures recomputed from its tasks' new results."""
    if not windows:
        return
    for row in read(_SESSIONS, {"ids": _json(list(windows))}).dicts():
        analyses = windows[row["window_id"]]
        languages: dict[str, int] = {}
        events: dict[str, int] = {}
        for a in analyses:
            if a.language:
                languages[a.language] = languages.get(a.language, 0) + 1
            for name in a.event_names:
                events[name] = events.get(name, 0) + 1
        scores = [a.sentiment_score for a in analyses if a.sentiment_score is not None]
        out.row("sessions", partition_of(row["session_key"], partitions), {
            **row, "duration_ms": row["end_ms"] - row["start_ms"], "languages": languages,
            "sentiment_sum": sum(scores), "sentiment_count": len(scores), "sentiment_min": min(scores, default=None),
            "event_counts": events, "cost_usd": sum(a.cost_usd or 0.0 for a in analyses),
            "analyzed_count": len(analyses), "version": clock.next(), "is_deleted": 0})
        result.sessions += 1
