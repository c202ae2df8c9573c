"""The one error root of the phospho SDK."""

__all__ = ["PhosphoError", "ConfigurationError"]


class PhosphoError(Exception):
    """Root of every error the phospho SDK raises on purpose."""


class ConfigurationError(PhosphoError, ValueError):
    """A configuration error, raised by `phospho.init` only (a ValueError, as in phospho)."""
