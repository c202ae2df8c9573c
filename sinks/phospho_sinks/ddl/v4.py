"""Migration 4: the views that hold a task once its own row came (phospho.tasks, the users' side
of phospho.evaluations) tell so by `created_at_ms` instead of `input`.

Only the core's own task row writes either column, and it always writes both, so the views hold
the same rows; a scan then reads eight bytes per partial row instead of the input's text."""

from __future__ import annotations

from .migration import Migration
from .v3 import VIEWS as V3_VIEWS

__all__ = ["V4"]

_OWN_ROW_BEFORE, _OWN_ROW = "isNotNull(input)", "isNotNull(created_at_ms)"

_VIEWS = tuple(view.replace(_OWN_ROW_BEFORE, _OWN_ROW) for view in V3_VIEWS if _OWN_ROW_BEFORE in view)
assert len(_VIEWS) == 2, "migration 4 rewrites the tasks and evaluations views of migration 3"

V4 = Migration(4, "views: a task's own row is known by created_at_ms (not its input text)", _VIEWS)
