"""A migration: a version, what it does, and its statements (each idempotent)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Migration"]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: Sequence[str]
