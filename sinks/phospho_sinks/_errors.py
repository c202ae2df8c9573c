"""The one error root of the sinks package."""

__all__ = ["StoreError", "ReadOnlyError"]


class StoreError(Exception):
    """A ClickHouse store (chDB or server) refused or failed a statement, or cannot be opened."""


class ReadOnlyError(StoreError, ValueError):
    """A statement that would write was given to a read-only query path."""
