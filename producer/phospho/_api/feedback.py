"""`phospho.user_feedback`: a feedback event for a task, before or after the task is sent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import time as _time
from typing import Any

from .._core.convert import safe_text, to_loggable
from .._core.queue import Event
from .init import RUNTIME, init_from_environment

__all__ = ["user_feedback", "FLAGS", "default_flag"]

logger = logging.getLogger("phospho")
FLAGS = ("success", "failure")
_SUCCESS_RAW = ("success", "👍", "🙂", "😀")


def default_flag(raw_flag: Any) -> str:
    """phospho's mapping: a thumbs up, a smile or "success" is a success, anything else a failure."""
    return "success" if _as_str(raw_flag) in _SUCCESS_RAW else "failure"


def _as_str(value: Any) -> str | None:
    """The text of a str (of a str subclass too, whatever it overrides); None for anything else."""
    return str.__str__(value) if isinstance(value, str) else None


def _shown(value: Any) -> str:
    try:
        return repr(value)
    except Exception:
        return safe_text(value)


def _text(value: Any, errors: list[str], name: str) -> str | None:
    if value is None or type(value) is str:
        return value
    return safe_text(to_loggable(value, errors, name))


def user_feedback(
    task_id: str,
    flag: str | None = None,
    notes: str | None = None,
    source: str = "user",
    raw_flag: Any = None,
    raw_flag_to_flag: Callable[[Any], str] | None = None,
) -> dict[str, Any] | None:
    """Flag a task as "success" or "failure" (or give a raw_flag mapped to one).

    Returns the feedback dict that is sent (phospho returned the updated task, which only the
    backend knows), or None when neither flag nor raw_flag was given (nothing is sent, as in
    phospho). Never raises: odd values are coerced and the reason recorded.
    """
    if not RUNTIME.initialized:
        init_from_environment()
    errors: list[str] = []
    try:
        if flag is None and raw_flag is None:
            logger.warning("phospho.user_feedback(%s): either flag or raw_flag must be given; nothing logged", _shown(task_id))
            return None
        if flag is None:
            if raw_flag_to_flag is not None:
                try:
                    flag = raw_flag_to_flag(raw_flag)
                except Exception as exc:
                    errors.append(f"raw_flag_to_flag raised {type(exc).__name__}: {safe_text(exc)}; default mapping used")
                    flag = default_flag(raw_flag)
            else:
                flag = default_flag(raw_flag)
        if _as_str(flag) in FLAGS:
            flag = _as_str(flag)
        else:
            errors.append(f"flag {_shown(flag)} is not 'success' or 'failure'; mapped with the default raw_flag rule")
            raw_flag = flag if raw_flag is None else raw_flag
            flag = default_flag(flag)
        task = _text(task_id, errors, "task_id") or ""
        if not task:
            errors.append("feedback without a task_id")
        content = {
            "task_id": task,
            "flag": flag,
            "raw_flag": _text(raw_flag, errors, "raw_flag"),
            "notes": _text(notes, errors, "notes"),
            "source": "user" if source is None else _text(source, errors, "source"),
            "project_id": RUNTIME.project_id,
        }
        now_ms = int(_time() * 1000)
        RUNTIME.enqueue(Event(task, content, True, "feedback", now_ms, False, errors))
        return content
    except Exception as exc:  # a bug of ours: counted, never raised into the app
        logger.exception("phospho: could not record feedback")
        RUNTIME.stats.count_failed(f"user_feedback raised {type(exc).__name__}: {safe_text(exc)}")
        return None
