"""The project's storage schema, as versioned migrations (each statement idempotent)."""

from .columns import VIEW_DOCS, Column, ViewDoc, view_doc
from .migration import Migration
from .v1_v2 import V1, V2
from .v3 import TASK_COLUMNS, V3, VIEWS
from .v4 import V4

__all__ = ["MIGRATIONS", "Migration", "TASK_COLUMNS", "VIEWS", "VIEW_DOCS", "Column", "ViewDoc", "view_doc"]

#: every migration of the project, in order
MIGRATIONS: tuple[Migration, ...] = (V1, V2, V3, V4)
