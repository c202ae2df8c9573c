"""The schema registry the SDK writes through, when one is configured."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["registry_from_env"]


def registry_from_env() -> Any:
    """A schema registry client when PHOSPHO_SCHEMA_REGISTRY_URL is set (the SDK then writes
    the Confluent wire format, and readers fetch writer schemas by id), else None."""
    url = os.environ.get("PHOSPHO_SCHEMA_REGISTRY_URL")
    if not url:
        return None
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient({"url": url})
