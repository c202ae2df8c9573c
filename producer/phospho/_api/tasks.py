"""phospho.log's core: build the returned dict in the caller's thread, merge events that share
a task_id, and hand the event to the runtime's queue. Everything here runs in the app's thread,
so it does no I/O, no JSON encoding and no Avro encoding (the sender thread does those)."""

from __future__ import annotations

from collections.abc import Callable
from time import time as _time
from typing import Any

from .._core.convert import event_time_ms, safe_text, to_loggable
from .._core.extract import detect_fields, input_to_text, output_to_text, to_text
from .._core.ids import new_session_id, new_task_id
from .._core.queue import Event, merge_contents
from .._tracing import context
from .runtime import Runtime
from .steps import log_steps

__all__ = ["build_content", "log_task", "placeholder_task", "submit_task"]

_STR = str
_ID_TYPES = frozenset({str, int, float, bool, type(None)})


def _id(value: Any, errors: list[str], name: str) -> Any:
    """An id as the app gave it when it is a plain scalar, else its text (a snapshot that
    cannot raise later)."""
    if type(value) in _ID_TYPES:
        return value
    text = safe_text(value)
    errors.append(f"{name}: a {type(value).__name__}, stored as its text")
    return text


def build_content(
    runtime: Runtime,
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
    ids = _ID_TYPES
    if not (type(task_id) in ids and type(session_id) in ids and type(user_id) in ids and type(version_id) in ids):
        task_id, session_id = _id(task_id, errors, "task_id"), _id(session_id, errors, "session_id")
        user_id, version_id = _id(user_id, errors, "user_id"), _id(version_id, errors, "version_id")
    if type(input) is _STR:
        conv_in = text_in = input
    else:
        conv_in = to_loggable(input, errors, "input")
        text_in = to_text(conv_in, input_to_str_function, input_to_text, errors, "input_to_str_function")
    if output is None or type(output) is _STR:
        conv_out = text_out = output
    else:
        conv_out = to_loggable(output, errors, "output")
        text_out = to_text(conv_out, output_to_str_function, output_to_text, errors, "output_to_str_function")

    ctx = context.current()
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
        "project_id": runtime.project_id,
        "session_id": session_id,
        "task_id": task_id,
        "input": text_in,
        "raw_input": conv_in if raw_input is None else to_loggable(raw_input, errors, "raw_input"),
        "raw_input_type_name": type(input).__name__,
        "output": text_out,
        "raw_output": conv_out if raw_output is None else to_loggable(raw_output, errors, "raw_output"),
        "raw_output_type_name": type(output).__name__,
        "version_id": version_id if version_id is not None else runtime.version_id,
        "user_id": user_id,
    }
    if conv_out is not None and type(conv_out) is not _STR or type(conv_in) is not _STR or usage_function:
        detect_fields(content, conv_in, conv_out, usage_function, errors)
    if kwargs:
        for key, value in kwargs.items():
            content[key] = to_loggable(value, errors, key)
        if "metadata" in kwargs:
            _fields_from_metadata(content, kwargs, version_id is None)
    if ctx is not None and ctx.metadata:
        content.update(ctx.metadata)
    if runtime.tracing:  # this execution context's spans (and its tracer block's) go to this task
        runtime.links.task_logged(_STR(content["task_id"]), content["session_id"], content.get("user_id"),
                                  ctx.link if ctx is not None else None, ctx.task_id if ctx is not None else None)
    return content, generated


def _fields_from_metadata(content: dict[str, Any], kwargs: dict[str, Any], no_version_argument: bool) -> None:
    """phospho's docs pass the system prompt and the version in metadata={...}: they fill the
    task's fields unless given explicitly (log's version_id=, a system_prompt= keyword); they
    beat the system prompt detected in the input and the version of init."""
    metadata = content["metadata"]
    if type(metadata) is not dict:
        return
    version = metadata.get("version_id")
    if version is not None and no_version_argument:
        content["version_id"] = version
    prompt = metadata.get("system_prompt")
    if prompt is not None and "system_prompt" not in kwargs:
        content["system_prompt"] = prompt


def log_task(
    runtime: Runtime,
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
        runtime, input, output, session_id, task_id, version_id, user_id, raw_input, raw_output,
        input_to_str_function, output_to_str_function, input_output_to_usage_function,
        kwargs or {}, errors, now,
    )
    event_ms = None
    if kwargs and "created_at" in kwargs:
        event_ms = event_time_ms(kwargs["created_at"], errors)
    content = submit_task(
        runtime, content, to_log, concatenate_raw_outputs_if_task_id_exists, int(now * 1000), event_ms,
        generated, errors, stream,
    )
    if steps is not None:
        log_steps(runtime, steps, content)
    return content


def submit_task(
    runtime: Runtime,
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


def placeholder_task(runtime: Runtime, task_id: Any, session_id: Any, user_id: Any, exc: Exception) -> dict[str, Any]:
    """The task of a log() whose content could not be built (a bug of ours): sent with
    placeholders and the reason, so that nothing logged is dropped."""
    errors = [f"phospho.log raised {type(exc).__name__}: {safe_text(exc)}; the task is sent with placeholders"]
    now = _time()
    task_id, session_id, user_id = (_id(v, errors, name) for v, name in
                                    ((task_id, "task_id"), (session_id, "session_id"), (user_id, "user_id")))
    generated = session_id is None
    content = {
        "client_created_at": int(now), "project_id": runtime.project_id,
        "session_id": new_session_id() if generated else session_id,
        "task_id": new_task_id() if task_id is None else task_id,
        "input": "<not logged: see errors>", "raw_input": None, "raw_input_type_name": None,
        "output": None, "raw_output": None, "raw_output_type_name": None,
        "version_id": runtime.version_id, "user_id": user_id,
    }
    try:
        return submit_task(runtime, content, True, True, int(now * 1000), None, generated, errors, False)
    except Exception as again:
        runtime.stats.count_failed(f"phospho.log raised {type(again).__name__}: {safe_text(again)}")
        return content
