"""Topic names of the pipeline, derived from one configurable prefix."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_TOPIC_PREFIX", "Topics"]

DEFAULT_TOPIC_PREFIX = "phospho."


@dataclass(frozen=True)
class Topics:
    """`Topics("acme.")` -> acme.tasks, acme.spans, acme.feedback (the SDK's events),
    acme.dead_letters, and acme.rows.* (the workers' output rows, one topic per table)."""

    prefix: str = DEFAULT_TOPIC_PREFIX

    @property
    def tasks(self) -> str:
        return f"{self.prefix}tasks"

    @property
    def spans(self) -> str:
        return f"{self.prefix}spans"

    @property
    def feedback(self) -> str:
        return f"{self.prefix}feedback"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}dead_letters"

    # the stream workers' output (JSON rows for the sink), one topic per storage table
    @property
    def task_rows(self) -> str:
        return f"{self.prefix}rows.tasks"

    @property
    def span_rows(self) -> str:
        return f"{self.prefix}rows.spans"

    @property
    def feedback_rows(self) -> str:
        return f"{self.prefix}rows.feedback"

    @property
    def session_rows(self) -> str:
        return f"{self.prefix}rows.sessions"

    def row_topics(self) -> tuple[str, str, str, str]:
        return (self.task_rows, self.span_rows, self.feedback_rows, self.session_rows)

    def for_kind(self, kind: str) -> str:
        """The topic of an event kind: 'task', 'span' or 'feedback'."""
        return {"task": self.tasks, "span": self.spans, "feedback": self.feedback}[kind]

    def kind_of(self, topic: str) -> str | None:
        """The event kind a topic carries, or None for a topic outside the contract."""
        return {self.tasks: "task", self.spans: "span", self.feedback: "feedback"}.get(topic)

    def event_topics(self) -> tuple[str, str, str]:
        return (self.tasks, self.spans, self.feedback)

    def all(self) -> tuple[str, ...]:
        return (*self.event_topics(), self.dead_letters, *self.row_topics())
