"""A task joined with its spans and feedback, whatever arrives first, as plain functions.

The SDK keys a task, its spans and its feedback by task_id, so they meet here whatever
process logged them. `TaskFacts` keeps what later events need, never texts: where the task's
session is, its usage, a summary of its spans, which feedback is the latest. Each call returns
what to write: rows for storage (the task's row once, then partial rows with the columns that
changed), points for its session window, records for the analysis stages.

Feedback and spans may come before their task: they are written at once (feedback marked as an
orphan) and linked when the task comes; feedback still waiting after the horizon is handed
back (`expire`) to be dead-lettered with its reason.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import orjson

from .sessions import session_key

__all__ = ["TaskFacts", "JoinOut", "on_task", "on_span", "on_feedback", "expire", "PREVIEW_CHARS"]

#: characters of a task's input its session keeps (a session shows its first and last input)
PREVIEW_CHARS = 200


@dataclass(slots=True)
class TaskFacts:
    task_id: str
    first_seen_ms: int  # wall time this task_id was first seen (the horizon counts from it)
    version: int = 0  # the facts' version: points for the session carry it
    event_id: str | None = None  # the task's newest event (None: not arrived yet)
    sent_at_ms: int = 0
    skey: str | None = None
    at_ms: int = 0
    session_id: str | None = None
    user_id: str | None = None
    logged_tokens: int | None = None  # total_tokens the app logged, if any
    # containers stay None until needed: a worker keeps the facts of every task of the retention
    usage: list[Any] | None = None  # [model, prompt, completion, cached] of the task itself
    span_ids: set[str] | None = None
    llm_calls: int = 0
    span_input_tokens: int = 0
    span_output_tokens: int = 0
    span_usage: dict[str, list[int]] | None = None  # model -> [input, output, cached]
    latency_us: int = 0
    wall: list[int] | None = None  # [first start, last end] of its LLM calls, ms
    feedback_ids: set[str] | None = None
    flag_key: list[Any] | None = None  # [created_at_ms, event_id, flag] of the latest flagged feedback
    notes_key: list[Any] | None = None  # [created_at_ms, event_id] of the latest feedback with notes
    pending: dict[str, list[Any]] | None = None  # feedback event_id -> [offset, event base64], until the task

    @property
    def tokens(self) -> int:
        """What its session counts: the tokens the app logged, else what its steps used."""
        return self.logged_tokens if self.logged_tokens is not None else self.span_input_tokens + self.span_output_tokens

    @property
    def flag(self) -> str | None:
        return self.flag_key[2] if self.flag_key else None


@dataclass(slots=True)
class JoinOut:
    tasks: list[dict[str, Any]] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    points: list[dict[str, Any]] = field(default_factory=list)  # for the session rules, by session key
    analysis: list[dict[str, Any]] = field(default_factory=list)  # for the analysis stages, by session key


_TASK_COPY = ("event_id", "project_id", "session_id", "session_id_generated", "user_id", "version_id", "input",
              "output", "system_prompt", "model", "prompt_tokens", "completion_tokens", "total_tokens", "raw_input",
              "raw_input_type_name", "raw_output", "raw_output_type_name", "metadata_json", "stream", "sdk_version")


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def task_row(record: dict[str, Any], skey: str) -> dict[str, Any]:
    """The task's own columns (phospho_schemas.rows.TaskRow) from its decoded event."""
    row = {name: record.get(name) for name in _TASK_COPY}
    row["task_id"] = record["task_id"]
    row["session_key"] = skey
    row["created_at_ms"] = record["created_at"]
    row["client_created_at_ms"] = record["client_created_at"]
    row["last_update_ms"] = record.get("last_update")
    row["sent_at_ms"] = record["sent_at"]
    row["metadata"] = _json(record.get("metadata") or {})
    row["errors"] = _json(record.get("errors") or [])
    row["cached_tokens"] = record.get("cached_tokens")
    row["redactions"] = _json(record.get("redactions") or {})
    return row


def _point(facts: TaskFacts, preview: str | None = None) -> dict[str, Any]:
    point = {"t": facts.task_id, "k": facts.skey, "at": facts.at_ms, "s": facts.session_id, "u": facts.user_id,
             "tok": facts.tokens, "f": facts.flag, "jv": facts.version}
    if preview is not None:
        point["p"] = preview
    return point


def _usage_record(facts: TaskFacts, kind: str) -> dict[str, Any]:
    return {"kind": kind, "task_id": facts.task_id, "session_key": facts.skey, "session_id": facts.session_id,
            "user_id": facts.user_id, "created_at_ms": facts.at_ms, "usage": facts.usage,
            "span_usage": facts.span_usage or {}, "jv": facts.version}


def on_task(facts: TaskFacts, record: dict[str, Any]) -> JoinOut:
    """The task arrived (or a newer event of it): its row, what waited for it linked, its point
    and its analysis record."""
    out = JoinOut()
    if record["event_id"] == facts.event_id or (facts.event_id is not None and record["sent_at"] < facts.sent_at_ms):
        return out  # delivered again, or an older event of the task: the newer one stays
    skey = session_key(record["session_id"], record["session_id_generated"], record.get("user_id"), facts.task_id)
    if facts.skey is not None and facts.skey != skey:  # logged again under another session: it leaves the old one
        out.points.append({"t": facts.task_id, "k": facts.skey, "rm": True, "jv": facts.version + 1})
    first = facts.event_id is None
    facts.event_id, facts.sent_at_ms, facts.skey = record["event_id"], record["sent_at"], sys.intern(skey)
    facts.at_ms, facts.session_id = record["created_at"], sys.intern(record["session_id"])
    facts.user_id = sys.intern(record["user_id"]) if record.get("user_id") else None
    facts.logged_tokens = record.get("total_tokens")
    facts.usage = [record.get("model"), record.get("prompt_tokens"), record.get("completion_tokens"),
                   record.get("cached_tokens")]
    facts.version += 1
    out.tasks.append(task_row(record, skey))
    if first:  # what came before it now carries its session and user
        out.feedback += [{"event_id": event_id, "session_id": facts.session_id, "user_id": facts.user_id,
                          "orphan": False} for event_id in facts.pending or ()]
        facts.pending = None
        out.spans += [{"event_id": event_id, "session_id": facts.session_id, "user_id": facts.user_id}
                      for event_id in sorted(facts.span_ids or ())]
    out.points.append(_point(facts, (record.get("input") or "")[:PREVIEW_CHARS]))
    analysis = _usage_record(facts, "task")
    for name in ("input", "output", "system_prompt", "model", "version_id", "metadata"):
        analysis[name] = record.get(name)
    if record.get("errors"):
        analysis["has_errors"] = True
    out.analysis.append(analysis)
    if first and facts.flag is not None:  # feedback that waited: the evaluation learns from it too
        out.analysis.append({**_usage_record(facts, "feedback"), "flag": facts.flag})
    return out


def _span_summary(facts: TaskFacts) -> dict[str, Any]:
    return {"task_id": facts.task_id, "span_count": len(facts.span_ids or ()), "llm_call_count": facts.llm_calls,
            "span_models": _json(sorted(facts.span_usage or ())), "span_input_tokens": facts.span_input_tokens,
            "span_output_tokens": facts.span_output_tokens, "llm_latency_ms": round(facts.latency_us / 1000),
            "llm_wall_ms": facts.wall[1] - facts.wall[0] if facts.wall else 0}


def on_span(facts: TaskFacts, record: dict[str, Any], row: dict[str, Any]) -> JoinOut:
    """A span of the task (`row`: its storage row): written at once; the task's span summary,
    its session's tokens and its cost follow."""
    out = JoinOut()
    if facts.span_ids is None:
        facts.span_ids = set()
    elif record["event_id"] in facts.span_ids:
        return out
    facts.span_ids.add(record["event_id"])
    if facts.event_id is not None:  # the task is known: the span carries its session and user
        row = {**row, "session_id": facts.session_id, "user_id": facts.user_id}
    out.spans.append(row)
    tokens_before = facts.tokens
    inp, outp = record.get("input_tokens") or 0, record.get("output_tokens") or 0
    facts.span_input_tokens += inp
    facts.span_output_tokens += outp
    model = record.get("response_model") or record.get("request_model")
    if model:
        if facts.span_usage is None:
            facts.span_usage = {}
        usage = facts.span_usage.setdefault(model, [0, 0, 0])
        usage[0] += inp
        usage[1] += outp
        usage[2] += record.get("cached_input_tokens") or 0
    if record.get("operation") or record.get("provider"):  # an LLM call
        facts.llm_calls += 1
        start, end = record["start_time"], record["end_time"]
        duration = record.get("duration_us")
        facts.latency_us += max(0, duration) if duration is not None else 1000 * max(0, end - start)
        facts.wall = [min(facts.wall[0], start), max(facts.wall[1], end)] if facts.wall else [start, end]
    facts.version += 1
    out.tasks.append(_span_summary(facts))
    if facts.event_id is not None:
        if facts.tokens != tokens_before:
            out.points.append(_point(facts))
        if model:
            out.analysis.append(_usage_record(facts, "usage"))
    return out


def on_feedback(facts: TaskFacts, record: dict[str, Any], row: dict[str, Any], source: list[Any]) -> JoinOut:
    """Feedback on the task (`row`: its storage row; `source`: its input offset and event in
    base64, kept while the task is missing): written at once; the task's flag and notes follow."""
    out = JoinOut()
    event_id = record["event_id"]
    if facts.feedback_ids is None:
        facts.feedback_ids = set()
    elif event_id in facts.feedback_ids:
        return out
    facts.feedback_ids.add(event_id)
    known = facts.event_id is not None
    out.feedback.append({**row, "session_id": facts.session_id, "user_id": facts.user_id, "orphan": not known})
    if not known:
        facts.pending = {**(facts.pending or {}), event_id: source}
    at = record["created_at"]
    changed: dict[str, Any] = {}
    if record.get("flag") and (facts.flag_key is None or [at, event_id] > facts.flag_key[:2]):
        facts.flag_key = [at, event_id, record["flag"]]
        changed.update(feedback_flag=record["flag"], feedback_at_ms=at)
    if record.get("notes") and (facts.notes_key is None or [at, event_id] > facts.notes_key):
        facts.notes_key = [at, event_id]
        changed["feedback_notes"] = record["notes"]
    if changed:
        facts.version += 1
        out.tasks.append({"task_id": facts.task_id, **changed})
        if known and "feedback_flag" in changed:
            out.points.append(_point(facts))
            out.analysis.append({**_usage_record(facts, "feedback"), "flag": facts.flag})
    return out


def expire(facts: TaskFacts, now_ms: int, horizon_ms: int) -> list[tuple[str, list[Any]]] | None:
    """Past the horizon with its task still missing: the feedback events that waited (event id,
    [input offset, event base64]), to dead-letter; None while the task may still come or has come."""
    if facts.event_id is not None or now_ms - facts.first_seen_ms < horizon_ms:
        return None
    waited = list((facts.pending or {}).items())
    facts.pending = None
    return waited
