"""`init(redact=...)` (else `PHOSPHO_REDACT`) as the redactor the sender thread runs on every
record before encoding it; a rule that cannot be used is a ConfigurationError."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from .._core.errors import ConfigurationError

__all__ = ["resolve_redaction", "REDACT_ENV"]

#: `all` (every built-in detector, mask) or detector names separated by commas
REDACT_ENV = "PHOSPHO_REDACT"
_ALL = frozenset({"all", "true", "1", "yes", "on"})
_NONE = frozenset({"", "none", "false", "0", "no", "off"})


def resolve_redaction(redact: Any, environ: Mapping[str, str] | None = None) -> Any:
    """An EventRedactor, or None (no redaction). `redact`: True (every built-in detector,
    mask), a list of rules (`{"detector": "email", "mode": "hash"}`, or a detector's name), a
    `phospho.redaction.Redactor`, or False / None (then $PHOSPHO_REDACT decides). Hash rules
    take their salt from $PHOSPHO_REDACTION_SALT, unless a Redactor built with one is given."""
    env = os.environ if environ is None else environ
    if redact is None:
        text = env.get(REDACT_ENV, "").strip().lower()
        if text in _NONE:
            return None
        redact = True if text in _ALL else [name.strip() for name in text.split(",") if name.strip()]
    if redact is False:
        return None
    from ..redaction import EventRedactor, RedactionError, Redactor, default_rules, salt_from_env

    if isinstance(redact, EventRedactor):
        return redact
    try:
        if isinstance(redact, Redactor):
            return EventRedactor(redact)
        if redact is True:
            return EventRedactor(Redactor(default_rules()))
        if isinstance(redact, str | bytes | Mapping) or not isinstance(redact, Iterable):
            raise ConfigurationError(
                f"redact must be True, a list of rules such as [{{'detector': 'email', 'mode': 'mask'}}] or a "
                f"phospho.redaction.Redactor, not {type(redact).__name__}")
        return EventRedactor(Redactor(list(redact), salt=salt_from_env(environ=env)))
    except RedactionError as exc:
        raise ConfigurationError(f"redact: {exc}") from None
