"""Where the read commands read: the running `up`, else an existing store, never a new one.

The running `up` of the data directory holds its chDB directory (chDB opens a directory in one
process only), so they ask it; else they open the store itself when it exists. They never create a store: finding neither is NothingToRead, naming where
they looked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from phospho_sinks import Store, chdb_path, connect

from ..errors import NothingToRead
from ..settings import ReadSettings
from .endpoint import EndpointClient, find_running_up
from .reader import Reader, limits_of, store_reader

__all__ = ["ReadSource", "open_source", "open_store"]


@dataclass
class ReadSource:
    """An open place to read: its reader, what it is (for messages), and how to let it go."""

    read: Reader
    description: str
    close: Callable[[], None] = field(default=lambda: None)


def _has_store(path: Path) -> bool:
    """A chDB directory holding the phospho database (what `up` or `sink` leave behind)."""
    return (path / "metadata" / "phospho.sql").is_file()


def open_source(settings: ReadSettings) -> ReadSource:
    """The running `up` of settings.data_dir (when it serves the asked DSN), else the store."""
    asked = settings.dsn
    running = find_running_up(settings.data_dir, asked)
    if running is not None:
        client = EndpointClient(running, timeout=settings.timeout_seconds + 30)
        return ReadSource(client.query, f"the running `phospho-stream up` ({running.url})", client.close)
    store = open_store(settings)
    return ReadSource(store_reader(store, limits_of(settings)), settings.store_dsn.split("@")[-1], store.close)


def open_store(settings: ReadSettings) -> Store:
    """The existing store of the settings (never a new one: NothingToRead, naming where it looked).
    Only for a process that may hold it: no `up` runs on it."""
    dsn = settings.store_dsn
    path = chdb_path(dsn)
    if path is not None and not _has_store(Path(path)):
        where = f"no {settings.data_dir / 'up.json'} of a running `phospho-stream up`"
        raise NothingToRead(f"nothing to read: {where} and no store in {path}; start `phospho-stream up`, "
                            "or point PHOSPHO_DATA_DIR or --dsn at an existing store")
    return connect(dsn)
