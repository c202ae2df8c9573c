"""One store API over chDB (embedded ClickHouse, the default) and a ClickHouse server
(clickhouse-connect), chosen by a DSN, in the spirit of clickhouse-connect's get_client(dsn=...):

    chdb:///abs/path   chdb://rel/path   /a/path   -> chDB with its data in that directory
    clickhouse://user:password@host:8123/db        -> a server over HTTP (clickhouses:// = HTTPS)

The same SQL runs on both; values are bound with ClickHouse's {name:Type} placeholders.
Only one chDB data path can be open per process: `connect` returns the same store for the
same path.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from ._errors import StoreError
from .backend import Store

__all__ = ["Store", "connect", "default_dsn", "chdb_path", "DSN_ENV", "json_lines"]

DSN_ENV = "PHOSPHO_CLICKHOUSE_DSN"


def json_lines(rows: list[dict[str, Any]]) -> bytes:
    """Rows as a JSONEachRow body for `Store.insert_json`."""
    import orjson

    return b"\n".join(orjson.dumps(row) for row in rows)


def default_dsn() -> str:
    """PHOSPHO_CLICKHOUSE_DSN, else a chDB directory under the project's data directory."""
    env = os.environ.get(DSN_ENV)
    if env:
        return env
    data = Path(os.environ.get("PHOSPHO_DATA_DIR", ".phospho")).resolve()
    return f"chdb://{data / 'chdb'}"


_OPEN: dict[str, Store] = {}
_OPEN_LOCK = threading.Lock()


def chdb_path(dsn: str) -> str | None:
    """The chDB directory a DSN names, or None for a server DSN."""
    if dsn.startswith("chdb://"):
        return str(Path(dsn[len("chdb://"):]).resolve())
    if dsn.startswith(("/", "./", "../")) or "://" not in dsn:
        return str(Path(dsn).resolve())
    return None


def connect(dsn: str | None = None) -> Store:
    dsn = dsn or default_dsn()
    path = chdb_path(dsn)
    if path is not None:
        from ._chdb_store import ChdbStore

        with _OPEN_LOCK:
            store = _OPEN.get(path)
            if store is None or store.closed:
                store = _OPEN[path] = ChdbStore(path)
            return store
    if dsn.startswith(("clickhouse://", "clickhouses://", "http://", "https://")):
        from ._server_store import ServerStore

        return ServerStore(dsn)
    raise StoreError(f"unsupported DSN {dsn!r}: use chdb://<dir> or clickhouse://user:pass@host:port/db")

