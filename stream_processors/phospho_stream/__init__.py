"""phospho-stream: the pipeline side (embedded broker, stream processors, CLI)."""

from ._errors import (
    BrokerError,
    EngineError,
    NothingToRead,
    PhosphoStreamError,
    SettingsError,
    StateStoreError,
)
from .broker import EmbeddedBroker

__all__ = ["PhosphoStreamError", "BrokerError", "EngineError", "NothingToRead", "SettingsError", "StateStoreError",
           "EmbeddedBroker"]
