"""What the LLM prompts read (Turn, Example) and what the judge's answers become (Verdict,
EventScore)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Turn", "Example", "Verdict", "EventScore", "Unparseable", "Flag", "transcript"]

Flag = Literal["success", "failure", "undefined"]


@dataclass(frozen=True, slots=True)
class Turn:
    """One task of a conversation as a prompt shows it: the user's input, the assistant's output
    (None when the task has none), already cleaned and cut."""

    task_id: str
    input: str
    output: str | None
    created_at_ms: int = 0


@dataclass(frozen=True, slots=True)
class Example:
    """A task a user flagged, shown to the judge as a few-shot example."""

    task_id: str
    input: str
    output: str | None
    flag: Literal["success", "failure"]
    learned_at_ms: int = 0  # when its feedback reached the stage (recency)


@dataclass(frozen=True, slots=True)
class Verdict:
    flag: Literal["success", "failure"]
    reason: str


@dataclass(frozen=True, slots=True)
class EventScore:
    """An LLM event's answer: `detected` decides whether an event row exists; `score` is P(event)
    for confidence, the value for range, the category's number (1..N) for category."""

    detected: bool
    score: float
    label: str | None


class Unparseable(ValueError):
    """An answer that does not say what was asked; str() is the reason, one line."""


def transcript(turns: Sequence[Turn]) -> str:
    """`user: ...` / `assistant: ...` lines, oldest first, one per message."""
    lines: list[str] = []
    for turn in turns:
        lines.append(f"user: {turn.input}")
        if turn.output is not None:
            lines.append(f"assistant: {turn.output}")
    return "\n".join(lines)
