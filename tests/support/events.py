"""SDK events as they travel: records encoded by the contract's serializer, for stage tests."""

from __future__ import annotations

import uuid
from typing import Any

from phospho_schemas import SingleObjectSerializer, raw_schema

MIN = 60_000
T0 = 1_763_700_000_000

_SERIALIZERS: dict[str, SingleObjectSerializer] = {}


def encode(kind: str, **fields: Any) -> bytes:
    """An event of `kind` (task, span, feedback) with the schema's defaults, as the SDK sends it."""
    record = {"event_id": uuid.uuid4().hex, "project_id": "p", "sent_at": T0, **fields}
    values = {f["name"]: record.get(f["name"], f.get("default")) for f in raw_schema(kind)["fields"]}
    serializer = _SERIALIZERS.get(kind) or _SERIALIZERS.setdefault(kind, SingleObjectSerializer(raw_schema(kind)))
    return serializer(values)


def task(task_id: str, at: int = 0, session: str = "chat", user: str | None = None, tokens: int | None = 10,
         generated: bool = False, text: str | None = None, **extra: Any) -> tuple[str, str, bytes]:
    """("task", kafka key, event bytes) for a task `at` ms after T0."""
    return "task", task_id, encode("task", task_id=task_id, session_id=session, session_id_generated=generated,
                                   user_id=user, created_at=T0 + at, client_created_at=T0 + at,
                                   input=text or f"q {task_id}", output=f"a {task_id}", total_tokens=tokens,
                                   version_id="v", **extra)


def span(event_id: str, task_id: str | None, model: str = "gpt-4o-mini", start: int = 0, dur: int = 200,
         **extra: Any) -> tuple[str, str, bytes]:
    return "span", task_id or event_id, encode(
        "span", event_id=event_id, trace_id="0" * 32, span_id=event_id[-16:].rjust(16, "0"), name="openai.chat",
        task_id=task_id, start_time=T0 + start, end_time=T0 + start + dur, operation="chat", provider="openai",
        response_model=model, input_tokens=12, output_tokens=3, **extra)


def feedback(task_id: str, flag: str, at: int = 0, event_id: str | None = None, **extra: Any) -> tuple[str, str, bytes]:
    return "feedback", task_id, encode("feedback", event_id=event_id or uuid.uuid4().hex, task_id=task_id, flag=flag,
                                       created_at=T0 + at, **extra)
