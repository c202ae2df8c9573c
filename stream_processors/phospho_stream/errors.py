"""phospho-stream's errors, under one root."""

from __future__ import annotations

__all__ = ["PhosphoStreamError", "BrokerError", "StateStoreError", "EngineError", "SettingsError", "NothingToRead",
           "UsageError"]


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



class UsageError(PhosphoStreamError, ValueError):
    """A command asked for something it cannot do as asked (a view that is not one, --user on a
    view without users): one line saying why."""
