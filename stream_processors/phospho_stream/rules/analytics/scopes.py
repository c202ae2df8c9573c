"""The text each detection scope searches (phospho-analytics.md section 14, items 2-4).

`task`: the input, a newline, the output. `task_input_only` / `task_output_only`: the current
task's input / output alone (never the history). `session`: the earlier tasks in chronological
order, then the current one, one line per input and per output. `system_prompt`: the task's
system prompt. No role prefixes ("user: ") are added, so no keyword or regex can match them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["PreparedTask", "ScopeTexts", "SCOPES"]

SCOPES = ("task", "session", "task_input_only", "task_output_only", "system_prompt")


@dataclass(frozen=True, slots=True)
class PreparedTask:
    """A task's texts once cleaned and cut (see text.clean_text)."""

    input: str
    output: str
    system_prompt: str


class ScopeTexts:
    """The texts of one task's scopes, each built once, when first asked for."""

    def __init__(self, current: PreparedTask, history: Callable[[], Sequence[PreparedTask]]) -> None:
        """`history` gives the earlier tasks of the session, oldest first (called once, if needed)."""
        self._current = current
        self._history = history
        self._built: dict[str, str] = {}

    def text(self, scope: str) -> str:
        """The text `scope` searches ('' when there is none, e.g. no system prompt)."""
        built = self._built.get(scope)
        if built is None:
            built = self._built[scope] = self._build(scope)
        return built

    def _build(self, scope: str) -> str:
        task = self._current
        if scope == "task_input_only":
            return task.input
        if scope == "task_output_only":
            return task.output
        if scope == "system_prompt":
            return task.system_prompt
        if scope == "task":
            return _lines((task,))
        if scope == "session":
            return _lines((*self._history(), task))
        raise ValueError(f"unknown detection scope {scope!r}")


def _lines(tasks: Sequence[PreparedTask]) -> str:
    return "\n".join(text for task in tasks for text in (task.input, task.output) if text)
