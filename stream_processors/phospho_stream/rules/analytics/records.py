"""What the analytics rules read (TaskText) and what they give back (Analysis, Detection)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["TaskText", "Detection", "AnalysisError", "Analysis", "DetectionSource"]

DetectionSource = Literal["keyword", "regex", "llm"]


@dataclass(frozen=True, slots=True)
class TaskText:
    """One task as the analytics stage sees it.

    Texts may be str, None, bytes, or a dict / list (or JSON text of one: its string leaves are
    read). `usage` is the task's token usage as logged (OpenAI, Anthropic or OpenTelemetry keys);
    `span_usages` one mapping per span that carries usage, each with its `model` (and optionally
    `provider`) beside the token counts.
    """

    task_id: str
    input: Any = ""
    output: Any = None
    system_prompt: Any = None
    model: str | None = None
    usage: Mapping[str, Any] | None = None
    span_usages: Sequence[Mapping[str, Any]] = ()
    created_at_ms: int = 0


@dataclass(frozen=True, slots=True)
class Detection:
    """One event detected on a task; `match` is the keyword, or the text the regex matched."""

    event_name: str
    score: float
    score_type: str
    label: str | None
    source: DetectionSource
    detection_scope: str
    match: str = ""


@dataclass(frozen=True, slots=True)
class AnalysisError:
    """A step that failed for one task: `step` is language, sentiment, cost or event; `event_name`
    names the definition when an event's detection failed."""

    step: str
    message: str
    event_name: str | None = None


@dataclass(frozen=True, slots=True)
class Analysis:
    """The analytics of one task. None means "not computed" (switched off, or failed: see errors)."""

    task_id: str
    analytics_version: str
    language: str | None = None
    sentiment_score: float | None = None
    sentiment_magnitude: float | None = None
    sentiment_label: str | None = None
    sentiment_method: str | None = None
    events: tuple[Detection, ...] = ()
    cost_usd: float | None = None
    cost_note: str | None = None
    #: the fields cut to analytics.max_chars before they were analysed
    truncated: tuple[str, ...] = ()
    errors: tuple[AnalysisError, ...] = field(default=())

    @property
    def event_names(self) -> tuple[str, ...]:
        """The names of the detected events, each once, in detection order."""
        return tuple(dict.fromkeys(d.event_name for d in self.events))
