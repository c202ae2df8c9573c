"""Versioned DDL: the project creates and upgrades its own schema, unchanged on chDB and on a
server. Each migration runs once, in order, and is recorded in phospho.schema_migrations."""

from __future__ import annotations

import time
from collections.abc import Sequence

from .backend import Store
from .ddl import MIGRATIONS, Migration

__all__ = ["migrate", "applied_versions"]
_BOOTSTRAP = (
    "CREATE DATABASE IF NOT EXISTS phospho",
    """CREATE TABLE IF NOT EXISTS phospho.schema_migrations (
        version UInt32, description String, applied_at DateTime64(3, 'UTC')
    ) ENGINE = ReplacingMergeTree ORDER BY version""",
)


def applied_versions(store: Store) -> set[int]:
    return {row[0] for row in store.query("SELECT DISTINCT version FROM phospho.schema_migrations").rows}


def migrate(store: Store, migrations: Sequence[Migration] | None = None) -> list[int]:
    """Apply what is missing (default: the project's migrations, ddl.MIGRATIONS); returns the
    versions applied now. Statements must be idempotent (IF NOT EXISTS / OR REPLACE) so that a
    migration interrupted midway can run again."""
    if migrations is None:
        migrations = MIGRATIONS
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)):
        raise ValueError(f"migration versions must be unique and increasing: {versions}")
    for statement in _BOOTSTRAP:
        store.command(statement)
    done = applied_versions(store)
    applied = []
    for migration in migrations:
        if migration.version in done:
            continue
        for statement in migration.statements:
            store.command(statement)
        store.command(
            "INSERT INTO phospho.schema_migrations VALUES ({v:UInt32}, {d:String}, fromUnixTimestamp64Milli({t:Int64}, 'UTC'))",
            {"v": migration.version, "d": migration.description, "t": int(time.time() * 1000)},
        )
        applied.append(migration.version)
    return applied
