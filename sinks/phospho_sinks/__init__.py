"""ClickHouse storage of the pipeline: one store API over chDB and a server, versioned DDL,
a locked read-only query path."""

from ._errors import ReadOnlyError, StoreError, clickhouse_message
from .backend import QueryResult, Settings, Store
from .ddl import MIGRATIONS, VIEW_DOCS, Migration, ViewDoc, view_doc
from .migrations import migrate
from .readonly import TUNING_SETTINGS, QueryLimits, locked_settings, read_only_query
from .retention import apply_retention
from .runner import SinkRunner, SinkStats
from .statements import check_read_only
from .store import DSN_ENV, chdb_path, connect, default_dsn, json_lines
from .writer import BatchWriter

__all__ = [
    "BatchWriter",
    "SinkRunner",
    "SinkStats",
    "DSN_ENV",
    "MIGRATIONS",
    "Migration",
    "QueryLimits",
    "QueryResult",
    "ReadOnlyError",
    "Settings",
    "Store",
    "StoreError",
    "TUNING_SETTINGS",
    "VIEW_DOCS",
    "ViewDoc",
    "apply_retention",
    "check_read_only",
    "chdb_path",
    "clickhouse_message",
    "connect",
    "default_dsn",
    "json_lines",
    "locked_settings",
    "migrate",
    "read_only_query",
    "view_doc",
]
