"""`phospho.log(steps=[...])`: one span event per step under the logged task (link_method
"manual"), queued in the caller's thread right after the task. Each step is converted like any
logged value (so the app may reuse its dicts); the record is built by the sender thread."""

from __future__ import annotations

from time import time_ns
from typing import Any

from .._core.convert import to_loggable
from .._core.ids import random_bits
from .._core.queue import Event, Link
from .runtime import Runtime

__all__ = ["log_steps"]


def log_steps(runtime: Runtime, steps: Any, content: dict[str, Any]) -> None:
    """Queue the steps of the task whose returned dict is `content`."""
    if isinstance(steps, dict) or not isinstance(steps, (list, tuple)):
        steps = [steps]
    notes: list[str] = []
    converted = to_loggable(steps, notes, "steps")  # a snapshot, even of a list whose iteration raises
    if not isinstance(converted, (list, tuple)):
        converted = [converted]
    task_id = str(content["task_id"])
    session_id, user_id = content.get("session_id"), content.get("user_id")
    link = Link(task_id, session_id, user_id, "manual")
    now_ns = time_ns()
    logged_ms = now_ns // 1_000_000
    trace_id = random_bits(128) or 1
    for index, step in enumerate(converted):
        errors = notes if index == 0 else []
        payload = {
            "step": step, "index": index, "link": link,
            "trace_id": trace_id, "span_id": random_bits(64) or 1, "logged_ms": logged_ms,
        }
        runtime.enqueue(Event(task_id, payload, True, "span", logged_ms, False, errors))
