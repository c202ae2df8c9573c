"""phospho-stream: the pipeline side (embedded broker, stream processors, CLI)."""

from .errors import (
           BrokerError,
           EngineError,
           NothingToRead,
           PhosphoStreamError,
           SettingsError,
           StateStoreError,
)
from .local.broker import EmbeddedBroker

__all__ = ["PhosphoStreamError", "BrokerError", "EngineError", "NothingToRead", "SettingsError", "StateStoreError",
           "EmbeddedBroker"]
