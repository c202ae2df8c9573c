"""Migration 4: privacy. The audit of user deletions (phospho_store.deletions, view
phospho.deletions), the deleted users' tombstones the sink filters with, and views that mark a
task by its event time rather than by its input (a TTL clears texts, never the task).
"""

from __future__ import annotations

from .migration import Migration
from .v3 import VIEWS as V3_VIEWS

__all__ = ["V4", "VIEWS"]


def _marked_by_event_time(view: str) -> str:
    """A v3 view that showed a task only when its input was stored: its event time decides."""
    changed = view.replace("isNotNull(input)", "isNotNull(created_at_ms)")
    assert changed != view, "a v3 view to change no longer filters on its input"
    return changed


_TABLES = (
    # one row per deletion: who asked, when, how many rows of each table went; never their content
    """CREATE TABLE IF NOT EXISTS phospho_store.deletions (
        request_id String, user_id String, requested_by String, requested_at DateTime64(3, 'UTC'),
        executed_at DateTime64(3, 'UTC'), counts Map(String, UInt64),
        written_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY request_id""",
    # what the sink keeps out of the store from then on: the user's id, their tasks and windows
    """CREATE TABLE IF NOT EXISTS phospho_store.deleted_users (
        user_id String, request_id String, deleted_at DateTime64(3, 'UTC'),
        task_ids Array(String), window_ids Array(String),
        written_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY (user_id, request_id)""",
)

VIEWS = (
    *(_marked_by_event_time(view) for view in V3_VIEWS
      if view.lstrip().startswith(("CREATE OR REPLACE VIEW phospho.tasks ", "CREATE OR REPLACE VIEW phospho.evaluations "))),
    """CREATE OR REPLACE VIEW phospho.deletions AS
    SELECT request_id, user_id, requested_by, requested_at, executed_at, counts,
        arraySum(mapValues(counts)) AS rows_removed
    FROM phospho_store.deletions FINAL""",
)

V4 = Migration(4, "privacy: the deletions audit and the deleted users' tombstones; tasks marked by their event "
                  "time, so that a TTL on their texts keeps them", _TABLES + VIEWS)
