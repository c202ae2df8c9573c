"""phospho-stream's errors, under one root."""

from __future__ import annotations

__all__ = ["PhosphoStreamError", "BrokerError", "StateStoreError", "EngineError", "SettingsError", "NothingToRead",
           "OtlpRequestError", "LLMError", "BatchAborted", "UsageError"]


class PhosphoStreamError(RuntimeError):
    """The root of phospho-stream's errors."""


class BrokerError(PhosphoStreamError):
    """The embedded broker could not be started or did not become ready."""


class StateStoreError(PhosphoStreamError):
    """The state changelog could not be written or read: the batch is not acknowledged."""


class EngineError(PhosphoStreamError):
    """The worker's engine failed a batch (it is not acknowledged) or its process is gone."""


class SettingsError(PhosphoStreamError, ValueError):
    """A setting (argument or environment variable) has a value its process cannot use."""


class NothingToRead(PhosphoStreamError):
    """A read command (query, insights, dashboard) found neither a running `up` nor a store."""


class OtlpRequestError(PhosphoStreamError):
    """An OTLP request the receiver refuses: `status` is its HTTP status (400 malformed, 401,
    413 too large, 415 unsupported type or encoding), the message says why in one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class LLMError(PhosphoStreamError):
    """The LLM endpoint cannot be used as configured (no key in its variable, a budget on a model
    nobody prices...), or a topics run could not get what it asked of it."""


class BatchAborted(PhosphoStreamError):
    """A stage stopped a batch before its end (the worker stops, or loses the batch's partitions):
    nothing of it is acknowledged, so it is read again."""


class UsageError(PhosphoStreamError, ValueError):
    """A command asked for something it cannot do as asked (a view that is not one, --user on a
    view without users): one line saying why."""
