"""A task's LLM outcomes as rows (phospho_schemas.rows): the task's eval and llm columns, its
evaluation row, its LLM event rows (and retractions of those no longer detected), and the
point that tells its session the verdict."""

from __future__ import annotations

from typing import Any

import orjson

from ...rules.evaluation import PROMPT_VERSION
from .jobs import TaskJobs

__all__ = ["task_row", "evaluation_row", "event_rows", "verdict_point"]


def task_row(jobs: TaskJobs, model: str, now_ms: int, with_events: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"task_id": jobs.task_id}
    if jobs.judged is not None:
        j = jobs.judged
        row.update(eval_flag=j.flag, eval_reason=j.reason, eval_model=model, eval_prompt_version=PROMPT_VERSION,
                   eval_cost_usd=jobs.cost_usd, eval_at_ms=j.at_ms or now_ms)
    if with_events:
        row["llm_events"] = orjson.dumps(detected_names(jobs)).decode()
        row["llm_errors"] = orjson.dumps([f"{d.event.event_name}: {d.error}" for d in jobs.detected
                                          if d.error]).decode()
        if jobs.judged is None:
            row["eval_cost_usd"] = jobs.cost_usd
    return row


def detected_names(jobs: TaskJobs) -> list[str]:
    return [d.event.event_name for d in jobs.detected if d.score is not None and d.score.detected]


def evaluation_row(jobs: TaskJobs, model: str, version: int, now_ms: int) -> dict[str, Any]:
    assert jobs.judged is not None
    record, j = jobs.record, jobs.judged
    return {"task_id": jobs.task_id, "flag": j.flag, "reason": j.reason, "model": model,
            "prompt_version": PROMPT_VERSION, "cost_usd": j.cost_usd, "session_id": record.get("session_id") or "",
            "user_id": record.get("user_id"), "created_at_ms": record.get("created_at_ms") or 0,
            "evaluated_at_ms": j.at_ms or now_ms, "version": version}


def event_rows(jobs: TaskJobs, before: tuple[str, ...], analytics_version: str, version: int,
               now_ms: int) -> list[dict[str, Any]]:
    """Rows of the detected events, and retractions of the ones `before` no longer detected
    (an event whose answer could not be read keeps what it had)."""
    record = jobs.record
    base = {"task_id": jobs.task_id, "session_id": record.get("session_id") or "", "user_id": record.get("user_id"),
            "analytics_version": analytics_version, "created_at_ms": record.get("created_at_ms") or 0,
            "detected_at_ms": now_ms, "version": version, "source": "llm"}
    rows = []
    undecided = {d.event.event_name for d in jobs.detected if d.score is None}
    for d in jobs.detected:
        if d.score is not None and d.score.detected:
            rows.append({**base, "event_name": d.event.event_name, "detection_scope": d.event.detection_scope,
                         "score": d.score.score, "score_type": d.event.score_range_settings.score_type,
                         "label": d.score.label, "is_deleted": 0})
    for gone in sorted(set(before) - set(detected_names(jobs)) - undecided):
        rows.append({**base, "event_name": gone, "detection_scope": "", "score": 0.0, "score_type": "",
                     "label": None, "is_deleted": 1})
    return rows


def verdict_point(jobs: TaskJobs, version: int) -> dict[str, Any]:
    assert jobs.judged is not None
    return {"t": jobs.task_id, "k": jobs.record["session_key"], "av": version, "ef": jobs.judged.flag}
