"""`phospho.user_feedback`: a feedback event for a task, before or after the task is sent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import time as _time
from typing import Any

from .._core.convert import to_loggable
from .._core.queue import Event
from .init import RUNTIME, init_from_environment

__all__ = ["user_feedback", "FLAGS", "default_flag"]

logger = logging.getLogger("phospho")
FLAGS = ("success", "failure")
_SUCCESS_RAW = ("success", "👍", "🙂", "😀")


def default_flag(raw_flag: Any) -> str:
    return "success" if raw_flag in _SUCCESS_RAW else "failure"


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
            logger.warning("phospho.user_feedback(%r): either flag or raw_flag must be given; nothing logged", task_id)
            return None
        if flag is None:
            if raw_flag_to_flag is not None:
                try:
                    flag = raw_flag_to_flag(raw_flag)
                except Exception as exc:
                    errors.append(f"raw_flag_to_flag raised {type(exc).__name__}: {exc}; default mapping used")
                    flag = default_flag(raw_flag)
            else:
                flag = default_flag(raw_flag)
        if flag not in FLAGS:
            errors.append(f"flag {flag!r} is not 'success' or 'failure'; mapped with the default raw_flag rule")
            raw_flag = flag if raw_flag is None else raw_flag
            flag = default_flag(flag)
        if task_id is None or task_id == "":
            errors.append("feedback without a task_id")
        raw = to_loggable(raw_flag, errors, "raw_flag")
        content = {
            "task_id": "" if task_id is None else str(task_id),
            "flag": flag,
            "raw_flag": raw if raw is None or isinstance(raw, str) else str(raw),
            "notes": None if notes is None else str(to_loggable(notes, errors, "notes")),
            "source": "user" if source is None else str(source),
            "project_id": RUNTIME.project_id,
        }
        now_ms = int(_time() * 1000)
        RUNTIME.enqueue(Event(content["task_id"], content, True, "feedback", now_ms, False, errors))
        return content
    except Exception as exc:
        logger.exception("phospho: could not record feedback")
        RUNTIME.stats.count_failed(f"user_feedback raised {type(exc).__name__}: {exc}")
        return None
