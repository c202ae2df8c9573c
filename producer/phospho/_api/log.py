"""`phospho.log`: the public entry point (plain and streamed)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterable, Callable, Iterable
from time import time as _time
from typing import Any

from .._core.convert import event_time_ms, to_loggable
from .init import RUNTIME, init_from_environment
from .iterators import innermost, observe
from .runtime import Runtime
from .steps import log_steps
from .streaming import StreamLog
from .tasks import build_content, log_task, placeholder_task

__all__ = ["log"]

logger = logging.getLogger("phospho")

_WRAP_HINT = """phospho.log was called with stream=True, which requires output to be mutable.
However, output type {kind} is immutable because it's an instance of {instance}.
Wrap this generator into a mutable object for phospho.log to work:

mutable_output = phospho.{wrapper}(generator, stop=lambda chunk: ...)
phospho.log(input=input, output=mutable_output, stream=True)
"""


def log(
    input: Any,
    output: Any = None,
    session_id: str | None = None,
    task_id: str | None = None,
    version_id: str | None = None,
    user_id: str | None = None,
    raw_input: Any = None,
    raw_output: Any = None,
    input_to_str_function: Callable[[Any], str] | None = None,
    output_to_str_function: Callable[[Any], str] | None = None,
    concatenate_raw_outputs_if_task_id_exists: bool = True,
    input_output_to_usage_function: Callable[[Any, Any], dict] | None = None,
    stream: bool = False,
    steps: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Log a task (input, optional output) to Kafka, in microseconds, without blocking.

    Returns the logged dict, as phospho does. Never raises into the app, except the documented
    ValueError for `stream=True` with a bare generator (wrap it in phospho.MutableGenerator).
    """
    runtime = RUNTIME
    if not runtime.initialized:
        init_from_environment()
    if output_to_str_function is None and "output_to_str_fucntion" in kwargs:
        output_to_str_function = kwargs.pop("output_to_str_fucntion")  # the seeds' spelling
    if stream:
        if inspect.isasyncgen(output):
            raise ValueError(_WRAP_HINT.format(kind=type(output), instance="AsyncGenerator", wrapper="MutableAsyncGenerator"))
        if inspect.isgenerator(output):
            raise ValueError(_WRAP_HINT.format(kind=type(output), instance="Generator", wrapper="MutableGenerator"))
        if isinstance(output, (Iterable, AsyncIterable)) and not isinstance(output, (str, bytes, dict)):
            try:
                return _log_stream(
                    runtime, input, output, session_id, task_id, version_id, user_id, raw_input, raw_output,
                    input_to_str_function, output_to_str_function, concatenate_raw_outputs_if_task_id_exists,
                    input_output_to_usage_function, kwargs, steps,
                )
            except Exception:
                logger.exception("phospho: could not follow the stream; logging it as a plain task")
        else:
            logger.warning("phospho.log(stream=True): output of type %s is not iterable; logged as a plain task", type(output).__name__)
    try:
        return log_task(
            runtime, input, output, session_id, task_id, version_id, user_id, raw_input, raw_output,
            input_to_str_function, output_to_str_function, concatenate_raw_outputs_if_task_id_exists,
            input_output_to_usage_function, kwargs, steps=steps,
        )
    except Exception as exc:  # a bug of ours must not break the app, nor lose the task
        logger.exception("phospho: could not log a task; it is sent with placeholders")
        return placeholder_task(runtime, task_id, session_id, user_id, exc)


def _log_stream(
    runtime: Runtime, input: Any, output: Any, session_id: Any, task_id: Any, version_id: Any, user_id: Any,
    raw_input: Any, raw_output: Any, input_to_str_function: Any, output_to_str_function: Any,
    concatenate: bool, usage_function: Any, kwargs: dict[str, Any], steps: Any,
) -> dict[str, Any]:
    errors: list[str] = []
    content, generated = build_content(
        runtime, input, None, session_id, task_id, version_id, user_id, raw_input, raw_output,
        input_to_str_function, None, usage_function, kwargs, errors, _time(),
    )
    content["raw_output_type_name"] = type(innermost(output)).__name__
    event_ms = event_time_ms(kwargs["created_at"], errors) if "created_at" in kwargs else None
    stream = StreamLog(
        runtime, content, to_loggable(input), output_to_str_function, usage_function,
        raw_mode="explicit" if raw_output is not None else ("list" if concatenate else "last"), event_ms=event_ms,
        session_generated=generated, errors=errors,
    )
    runtime.latest_task_id, runtime.latest_session_id = content["task_id"], content["session_id"]
    if steps is not None:
        log_steps(runtime, steps, content)
    if observe(output, stream):
        return content
    if isinstance(output, (list, tuple)):  # already materialized: every item is a chunk
        try:
            chunks = list(output)
        except Exception as exc:
            stream.end(f"stream of type {type(output).__name__} could not be iterated ({type(exc).__name__}); "
                       "logged without its output")
            return content
        for chunk in chunks:
            stream.chunk(chunk)
        stream.end()
        return content
    stream.end(f"stream of type {type(output).__name__} cannot be observed; logged without its output")
    logger.warning("phospho.log(stream=True): cannot observe a %s; wrap it in phospho.MutableGenerator", type(output).__name__)
    return content
