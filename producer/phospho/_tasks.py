"""phospho.log's core: build the returned dict in the caller's thread, merge events that share
a task_id, and hand the event to the queue. Everything here runs in the app's thread, so it does
no I/O, no JSON encoding and no Avro encoding (the sender thread does those)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from time import time as _time
from typing import Any

from . import _context
from ._convert import to_loggable
from ._extract import (
    detect_model,
    detect_system_prompt,
    detect_usage,
    input_to_text,
    output_to_text,
)
from ._ids import new_session_id, new_task_id
from ._log_queue import Event
from ._runtime import RUNTIME
from ._span_links import task_logged
from ._steps import log_steps

__all__ = ["log_task", "merge_contents", "event_time_ms"]

_STR = str
_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z


def event_time_ms(value: Any, errors: list[str]) -> int | None:
    """The `created_at` keyword (unix seconds; also datetimes and ISO strings) in milliseconds."""
    try:
        if isinstance(value, bool):
            raise TypeError("a bool")
        if isinstance(value, (int, float)):
            seconds = float(value)
        elif isinstance(value, datetime):
            seconds = value.timestamp()
        elif isinstance(value, str):
            seconds = datetime.fromisoformat(value).timestamp()
        else:
            raise TypeError(type(value).__name__)
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(repr(value))
        # unix seconds are expected; milli-, micro- and nanoseconds are recognised by magnitude
        for limit, divisor in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
            if seconds > limit:
                seconds /= divisor
                break
        if seconds > _MAX_SECONDS:
            raise ValueError(f"{value!r} is after the year 9999")
        return int(round(seconds * 1000))
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        errors.append(f"created_at: {exc} is not unix seconds, a datetime or an ISO date; client time used")
        return None


def _call(fn: Callable[..., Any], args: tuple, errors: list[str], what: str) -> tuple[bool, Any]:
    try:
        return True, fn(*args)
    except Exception as exc:  # the app's extractor raised: fall back to the default rule
        errors.append(f"{what} raised {type(exc).__name__}: {exc}; default rule used")
        return False, None


def _to_text(value: Any, custom: Callable[[Any], Any] | None, default: Callable[[Any], Any],
             errors: list[str], name: str) -> Any:
    """The app's extractor when given (its result made a str), else phospho's default rule."""
    if custom is not None:
        ok, text = _call(custom, (value,), errors, name)
        if ok and text is not None:
            if type(text) is not _STR:
                text = to_loggable(text, errors, name)
                text = text if type(text) is _STR else str(text)
            return text
    return default(value)


def build_content(
    input: Any,
    output: Any,
    session_id: Any,
    task_id: Any,
    version_id: Any,
    user_id: Any,
    raw_input: Any,
    raw_output: Any,
    input_to_str_function: Callable[[Any], str] | None,
    output_to_str_function: Callable[[Any], str] | None,
    usage_function: Callable[[Any, Any], dict] | None,
    kwargs: dict[str, Any],
    errors: list[str],
    now: float,
) -> tuple[dict[str, Any], bool]:
    """The dict phospho.log returns, and whether the session id was generated."""
    if type(input) is _STR:
        conv_in = text_in = input
    else:
        conv_in = to_loggable(input, errors, "input")
        text_in = _to_text(conv_in, input_to_str_function, input_to_text, errors, "input_to_str_function")
    if output is None or type(output) is _STR:
        conv_out = text_out = output
    else:
        conv_out = to_loggable(output, errors, "output")
        text_out = _to_text(conv_out, output_to_str_function, output_to_text, errors, "output_to_str_function")

    ctx = _context.current()
    if task_id is None:
        task_id = ctx.task_id if ctx is not None and ctx.task_id else new_task_id()
    generated = False
    if session_id is None:
        if ctx is not None:
            session_id, generated = ctx.session_id, ctx.session_generated
        else:
            session_id, generated = new_session_id(), True

    content: dict[str, Any] = {
        "client_created_at": int(now),
        "project_id": RUNTIME.project_id,
        "session_id": session_id,
        "task_id": task_id,
        "input": text_in,
        "raw_input": conv_in if raw_input is None else to_loggable(raw_input, errors, "raw_input"),
        "raw_input_type_name": type(input).__name__,
        "output": text_out,
        "raw_output": conv_out if raw_output is None else to_loggable(raw_output, errors, "raw_output"),
        "raw_output_type_name": type(output).__name__,
        "version_id": version_id if version_id is not None else RUNTIME.version_id,
        "user_id": user_id,
    }
    if conv_out is not None and type(conv_out) is not _STR or type(conv_in) is not _STR or usage_function:
        _detect(content, conv_in, conv_out, usage_function, errors)
    if kwargs:
        for key, value in kwargs.items():
            content[key] = to_loggable(value, errors, key)
    if ctx is not None and ctx.metadata:
        content.update(ctx.metadata)
    if RUNTIME.tracing:  # this execution context's spans (and its tracer block's) go to this task
        task_logged(_STR(content["task_id"]), content["session_id"], content.get("user_id"), generated,
                    ctx.link if ctx is not None else None, ctx.task_id if ctx is not None else None)
    return content, generated


def _detect(content: dict[str, Any], conv_in: Any, conv_out: Any, usage_function: Any, errors: list[str]) -> None:
    usage = None
    if usage_function is not None:
        ok, usage = _call(usage_function, (conv_in, conv_out), errors, "input_output_to_usage_function")
        if ok and usage is not None and not isinstance(usage, dict):
            errors.append(f"input_output_to_usage_function returned {type(usage).__name__}, not a dict; ignored")
            usage = None
    else:
        usage = detect_usage(conv_out)
    if usage:
        content.update(usage)
    model = detect_model(conv_in, conv_out)
    if model is not None:
        content["model"] = model
    system_prompt = detect_system_prompt(conv_in)
    if system_prompt is not None:
        content["system_prompt"] = system_prompt


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def merge_contents(existing: dict[str, Any], new: dict[str, Any], concatenate_raw_outputs: bool) -> None:
    """phospho's rule for a task_id logged again before it was sent: output strings
    concatenate, raw_output becomes a list (or, with concatenate_raw_outputs=False, the newest
    raw_output), completion_tokens and total_tokens add up, client_created_at keeps the first
    value, last_update is set, other keys take the newest value."""
    old_out, new_out = existing.get("output"), new.get("output")
    fused_out = None if old_out is None and new_out is None else f"{old_out or ''}{new_out or ''}"
    old_raw, new_raw = existing.get("raw_output"), new.get("raw_output")
    if not concatenate_raw_outputs:
        fused_raw = new_raw
    elif old_raw is None and new_raw is None:
        fused_raw = None
    else:
        fused_raw = _as_list([] if old_raw is None else old_raw) + _as_list([] if new_raw is None else new_raw)
    fused: dict[str, Any] = {
        "client_created_at": existing["client_created_at"],
        "last_update": new["client_created_at"],
        "output": fused_out,
        "raw_output": fused_raw,
    }
    for key in ("completion_tokens", "total_tokens"):
        if key in new:
            try:
                fused[key] = new[key] + existing.get(key, 0)
            except TypeError:
                fused[key] = new[key]
    existing.update(new)
    existing.update(fused)


def log_task(
    input: Any,
    output: Any = None,
    session_id: Any = None,
    task_id: Any = None,
    version_id: Any = None,
    user_id: Any = None,
    raw_input: Any = None,
    raw_output: Any = None,
    input_to_str_function: Callable[[Any], str] | None = None,
    output_to_str_function: Callable[[Any], str] | None = None,
    concatenate_raw_outputs_if_task_id_exists: bool = True,
    input_output_to_usage_function: Callable[[Any, Any], dict] | None = None,
    kwargs: dict[str, Any] | None = None,
    to_log: bool = True,
    stream: bool = False,
    steps: Any = None,
) -> dict[str, Any]:
    errors: list[str] = []
    now = _time()
    content, generated = build_content(
        input, output, session_id, task_id, version_id, user_id, raw_input, raw_output,
        input_to_str_function, output_to_str_function, input_output_to_usage_function,
        kwargs or {}, errors, now,
    )
    event_ms = None
    if kwargs and "created_at" in kwargs:
        event_ms = event_time_ms(kwargs["created_at"], errors)
    content = submit_task(
        content, to_log, concatenate_raw_outputs_if_task_id_exists, int(now * 1000), event_ms,
        generated, errors, stream,
    )
    if steps is not None:
        log_steps(steps, content, generated)
    return content


def submit_task(
    content: dict[str, Any],
    to_log: bool,
    concatenate: bool,
    ts_ms: int,
    event_ms: int | None,
    generated: bool,
    errors: list[str],
    stream: bool,
) -> dict[str, Any]:
    """Queue a new task event, or merge it into the pending one with the same task_id."""
    runtime = RUNTIME
    queue = runtime.queue
    task_id = content["task_id"]
    overflow = None
    with queue.lock:
        event = queue.events.get(task_id) if isinstance(task_id, str) else None
        if event is None:
            event = Event(str(task_id), content, to_log, "task", ts_ms, generated, errors, stream)
            event.event_ms = event_ms
            if to_log:
                if len(queue.ready) < queue.maxsize:
                    queue.events[event.id] = event
                    queue.ready.append(event)
                    event.queued = True
                    runtime.stats.queued += 1
                else:
                    overflow = event
            else:
                queue.events[event.id] = event
        else:
            merge_contents(event.content, content, concatenate)
            event.last_ms = ts_ms
            if event_ms is not None:
                event.event_ms = event_ms
            event.errors.extend(e for e in errors if e not in event.errors)
            event.stream = event.stream or stream
            event.to_log = to_log
            if to_log and not event.queued:
                queue.ready.append(event)
                event.queued = True
                runtime.stats.queued += 1
            content = event.content
    runtime.latest_task_id = task_id
    runtime.latest_session_id = content["session_id"]
    if overflow is not None:
        runtime.overflow(overflow)
    elif to_log and len(queue.ready) >= runtime.wake_threshold:
        runtime.wake()
    return content
