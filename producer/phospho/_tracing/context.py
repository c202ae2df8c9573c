"""The tracer block's context (a ContextVar): the ids and metadata stamped on every log inside.

Built on a ContextVar, so it is correct across threads and asyncio tasks, nests, and restores
the outer context even when the block raises (phospho leaves the ids set: our choice is to
restore). Spans started inside a block belong to its task (see links).

Nested blocks: an inner block is a step of the same conversation. Without a session_id of its
own it keeps the outer block's session (phospho starts a new one: our choice), and its metadata
is the outer block's updated with its own (phospho keeps the outer metadata when the inner block
has none, and replaces it otherwise). Its task is its own (task_id, or a new one), as in phospho.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from .._core.convert import to_loggable
from .._core.ids import new_session_id, new_task_id, uuid4_hex
from .._core.queue import Link
from .links import SpanLinks

__all__ = ["TraceContext", "current", "new_context", "CURRENT"]


@dataclass(frozen=True, slots=True)
class TraceContext:
    task_id: str
    session_id: str
    session_generated: bool
    metadata: dict[str, Any] | None
    name: str
    link: Link


CURRENT: ContextVar[TraceContext | None] = ContextVar("phospho_trace_context", default=None)
current = CURRENT.get


def new_context(task_id: str | None, session_id: str | None, metadata: dict[str, Any] | None) -> TraceContext:
    """A block's context, inside the current one (if any): see the module doc for nesting."""
    outer = CURRENT.get()
    task_id = task_id or new_task_id()
    if session_id:
        session, generated = session_id, False
    elif outer is not None:
        session, generated = outer.session_id, outer.session_generated
    else:
        session, generated = new_session_id(), True
    merged = dict(outer.metadata) if outer is not None and outer.metadata else {}
    if metadata:
        converted = to_loggable(metadata if isinstance(metadata, dict) else dict(metadata))  # a snapshot
        if isinstance(converted, dict):
            merged.update(converted)
    return TraceContext(
        task_id=task_id,
        session_id=session,
        session_generated=generated,
        metadata=merged or None,
        name=f"local_context{uuid4_hex()}",
        link=SpanLinks.context_link(task_id, session),
    )
