"""ClickHouse storage of the pipeline: one store API over chDB and a server, versioned DDL,
a read-only query path."""

from ._errors import ReadOnlyError, StoreError
from .ddl import MIGRATIONS
from .migrations import Migration, migrate
from .runner import SinkRunner, SinkStats
from .statements import check_read_only
from .store import DSN_ENV, QueryResult, Store, connect, default_dsn, json_lines, read_only_query
from .writer import BatchWriter

__all__ = [
    "BatchWriter",
    "SinkRunner",
    "SinkStats",
    "DSN_ENV",
    "MIGRATIONS",
    "Migration",
    "QueryResult",
    "ReadOnlyError",
    "Store",
    "StoreError",
    "check_read_only",
    "connect",
    "default_dsn",
    "json_lines",
    "migrate",
    "read_only_query",
]
