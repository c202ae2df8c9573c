"""The schema registry the SDK writes through, when one is configured."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["registry_from_env", "registry_client"]


def registry_client(url: str | None) -> Any:
    """A schema registry client for `url` (the SDK then writes the Confluent wire format, and
    readers fetch writer schemas by id), or None without one."""
    if not url:
        return None
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient({"url": url})


def registry_from_env() -> Any:
    """`registry_client` for PHOSPHO_SCHEMA_REGISTRY_URL."""
    return registry_client(os.environ.get("PHOSPHO_SCHEMA_REGISTRY_URL"))
