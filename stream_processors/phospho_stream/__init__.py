"""phospho-stream: the pipeline side (embedded broker, stream processors, CLI)."""

from .broker import BrokerError, EmbeddedBroker

__all__ = ["BrokerError", "EmbeddedBroker"]
