"""The one error root of the wire-contract package."""

__all__ = ["SchemaError", "DecodeError", "UnknownSchemaError"]


class SchemaError(Exception):
    """Root of every error raised by phospho_schemas."""


class DecodeError(SchemaError, ValueError):
    """Bytes that are not a readable phospho event (bad framing, truncated body...)."""


class UnknownSchemaError(DecodeError):
    """The writer schema named by the event (fingerprint or registry id) is not known."""
