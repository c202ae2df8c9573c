"""The insights endpoints: per day, model and language; sessions' shapes; the messages that end
sessions; users ranked; topics. Each takes the page's date range and project."""

from __future__ import annotations

from typing import Any

from .. import queries as Q
from ..params import filters
from .base import Args, Read, clean, dicts, one, pairs

__all__ = ["insights_tasks", "insights_sessions", "insights_endings", "insights_users", "insights_topics"]

_TASKS = Q.scoped(Q.TASK_FILTERS)
_SESSIONS = Q.scoped(Q.SESSION_FILTERS)
_USERS = Q.scoped(Q.USER_FILTERS)
_PER_GROUP = ("tasks", "success", "failure", "eval_success", "eval_failure", "both_flagged", "agreed",
              "prompt_tokens", "completion_tokens", "total_tokens", "span_tokens", "cost", "unpriced",
              "analysed_tasks", "positive", "negative", "neutral", "mixed", "not_scored", "sentiment_avg")


def insights_tasks(read: Read, args: Args) -> dict[str, Any]:
    """Per day: tasks, feedback, the LLM's verdicts, tokens, cost, sentiment labels and mean; per
    model (the 50 costing most, then with most tokens) and per language: the same figures."""
    active, params = filters(args, _TASKS)
    rows = dicts(read(Q.compose(Q.TASK_INSIGHTS, _TASKS, active), params or None))
    by_kind: dict[str, list[dict[str, Any]]] = {"day": [], "model": [], "language": []}
    for r in rows:
        figures = {k: r[k] for k in _PER_GROUP}
        figures["tokens"] = r["total_tokens"] + r["span_tokens"]
        key = {"day": "day", "model": "model_name", "language": "lang"}[r["kind"]]
        by_kind[r["kind"]].append({key: r[key], **figures})
    languages = sorted(by_kind["language"], key=lambda r: (-r["tasks"], r["lang"]))
    return {"days": by_kind["day"], "models": by_kind["model"][:50], "languages": languages}


def insights_sessions(read: Read, args: Args) -> dict[str, Any]:
    active, params = filters(args, _SESSIONS)
    shape = one(read(Q.compose(Q.SESSION_SHAPES, _SESSIONS, active), params or None), "session summary")
    # bucket b holds durations d with ceil(log2(d + 1)) = b: (2^(b-1) - 1, 2^b - 1] seconds, and 0 for b = 0
    buckets = [[max(0, 2 ** (b - 1) - 1), 2 ** b - 1, n] for b, n in pairs(shape["duration_buckets"])]
    quantiles = shape["duration_quantiles"] if shape["sessions"] else [None, None, None]
    return {
        "sessions": shape["sessions"], "avg_tasks": shape["avg_tasks"], "avg_duration_s": shape["avg_duration_s"],
        "max_duration_s": shape["max_duration_s"] if shape["sessions"] else None,
        "duration_quantiles": dict(zip(("p50", "p90", "p99"), map(clean, quantiles), strict=True)),
        "per_day": pairs(shape["per_day"]), "lengths": pairs(shape["lengths"]),
        "duration_buckets": buckets, "dead_letters": shape["dead_letters"],
    }


def insights_endings(read: Read, args: Args) -> dict[str, Any]:
    active, params = filters(args, _SESSIONS)
    return {"endings": dicts(read(Q.compose(Q.ENDING_MESSAGES, _SESSIONS, active), {**params, "limit": 10}))}


def insights_users(read: Read, args: Args) -> dict[str, Any]:
    """The ten first users of each ranking: power (tasks), struggling (negative feedback, then
    errors), cost, negative (lowest mean sentiment)."""
    active, params = filters(args, _USERS)
    rows = dicts(read(Q.compose(Q.USER_RANKINGS, _USERS, active), {**params, "limit": 10}))
    rankings: dict[str, list[dict[str, Any]]] = {name: [] for name in Q.RANKINGS}
    for r in rows:
        rankings[r.pop("ranking")].append(r)
    return rankings


def insights_topics(read: Read, args: Args) -> dict[str, Any]:
    """The latest clustering run's topics, largest first (none until the evaluation stage made some)."""
    rows = dicts(read(Q.TOPICS, {"limit": 50}))
    return {"topics": rows, "run_id": rows[0]["run_id"] if rows else None,
            "created_ms": rows[0]["created_ms"] if rows else None}
