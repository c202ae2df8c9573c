"""Every topic name of the pipeline, derived from one configurable prefix."""

from __future__ import annotations

from dataclasses import dataclass

from .rows import TABLES

__all__ = ["DEFAULT_TOPIC_PREFIX", "Topics"]

DEFAULT_TOPIC_PREFIX = "phospho."


@dataclass(frozen=True)
class Topics:
    """`Topics("acme.")` names every topic of a pipeline:

    - acme.tasks, acme.spans, acme.feedback: the SDK's Avro events, keyed by task_id;
    - acme.core.points: the core stage's own repartition topic (tasks' session figures, JSON
      batches sent to the partition of their session key);
    - acme.analysis.tasks: the texts the analysis stages read (JSON batches, by session key);
    - acme.rows.<table>: rows for the sink (JSONEachRow), one topic per storage table;
    - acme.dead_letters: what could not be processed, with the reason in its headers;
    - acme.control.deletions: requests to delete a user's data, for the sink (compacted, keyed
      by user_id: one record per deleted user, kept whatever the retention).
    """

    prefix: str = DEFAULT_TOPIC_PREFIX

    # -- the SDK's events -------------------------------------------------------------------
    @property
    def tasks(self) -> str:
        return f"{self.prefix}tasks"

    @property
    def spans(self) -> str:
        return f"{self.prefix}spans"

    @property
    def feedback(self) -> str:
        return f"{self.prefix}feedback"

    def event_topics(self) -> tuple[str, str, str]:
        return (self.tasks, self.spans, self.feedback)

    def for_kind(self, kind: str) -> str:
        """The topic of an event kind: 'task', 'span' or 'feedback'."""
        return {"task": self.tasks, "span": self.spans, "feedback": self.feedback}[kind]

    def kind_of(self, topic: str) -> str | None:
        """The event kind a topic carries, or None for a topic outside the contract."""
        return {self.tasks: "task", self.spans: "span", self.feedback: "feedback"}.get(topic)

    # -- between stages ---------------------------------------------------------------------
    @property
    def core_points(self) -> str:
        return f"{self.prefix}core.points"

    @property
    def analysis_tasks(self) -> str:
        return f"{self.prefix}analysis.tasks"

    def internal_topics(self) -> tuple[str, str]:
        return (self.core_points, self.analysis_tasks)

    def core_inputs(self) -> tuple[str, str, str, str]:
        """What the core stage reads: the SDK's events and its own points."""
        return (*self.event_topics(), self.core_points)

    def state(self, app_id: str) -> str:
        """The compacted changelog of a stage's state (its consumer group is `app_id`)."""
        return f"{app_id}-state"

    # -- rows for the sink ------------------------------------------------------------------
    def rows(self, table: str) -> str:
        """The row topic of a storage table (`phospho_schemas.rows.TABLES`)."""
        return f"{self.prefix}rows.{table}"

    def table_of(self, topic: str) -> str | None:
        """The storage table a row topic feeds, or None."""
        head = f"{self.prefix}rows."
        if topic.startswith(head) and topic[len(head):] in TABLES:
            return topic[len(head):]
        return None

    def row_topics(self) -> tuple[str, ...]:
        return tuple(self.rows(table) for table in TABLES)

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}dead_letters"

    # -- control ----------------------------------------------------------------------------
    @property
    def deletions(self) -> str:
        return f"{self.prefix}control.deletions"

    def compacted(self) -> tuple[str, ...]:
        """The topics created with cleanup.policy=compact (they hold no text, and no retention
        removes them)."""
        return (self.deletions,)

    def all(self) -> tuple[str, ...]:
        """Every topic the pipeline creates (not the state changelogs: each stage makes its own)."""
        return (*self.event_topics(), *self.internal_topics(), self.dead_letters, *self.row_topics(), self.deletions)
