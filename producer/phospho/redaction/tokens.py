"""What replaces a found value: a mask (`<EMAIL>`) or a salted hash (`<EMAIL:9f2c1a7b03de>`)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Mapping

from .errors import RedactionError

__all__ = ["TokenMaker", "token_pattern", "salt_from_env", "SALT_ENV", "HASH_HEX_CHARS",
           "MIN_SALT_BYTES"]

#: the environment variable that holds the salt unless the config's `salt_env` names another
SALT_ENV = "PHOSPHO_REDACTION_SALT"
#: hex characters of a hashed token: 48 bits (a million distinct values: 0.2% chance of one collision)
HASH_HEX_CHARS = 12
MIN_SALT_BYTES = 16


def salt_from_env(name: str = SALT_ENV, environ: Mapping[str, str] | None = None) -> str | None:
    """The salt held by the environment variable `name` (None when unset or empty)."""
    value = (os.environ if environ is None else environ).get(name, "")
    return value or None


def token_pattern(labels: Iterable[str]) -> re.Pattern[str]:
    """The tokens to leave alone when met again: the masks of these labels and of every built-in
    detector, and any hashed token, so that a text redacted by the SDK and then by the core stage
    is redacted once. (Not any `<CAPITALS>`: `<AKIAIOSFODNN7EXAMPLE>` is a key in brackets.)"""
    words = "|".join(sorted({re.escape(label) for label in labels}, key=len, reverse=True))
    return re.compile(rf"<(?:{words})>|<[A-Z][A-Z0-9_]*:[0-9a-f]{{{HASH_HEX_CHARS}}}>")


class TokenMaker:
    """Masks and keyed hashes (HMAC-SHA256 with the salt) of normalised values."""

    def __init__(self, salt: str | bytes | None) -> None:
        if salt is None:
            self._key = None
            return
        key = salt.encode() if isinstance(salt, str) else bytes(salt)
        if len(key) < MIN_SALT_BYTES:
            raise RedactionError(f"the redaction salt has {len(key)} bytes: give at least "
                                 f"{MIN_SALT_BYTES} random ones (python -c 'import secrets; "
                                 "print(secrets.token_hex(32))')")
        self._key = hmac.new(key, digestmod=hashlib.sha256)

    @property
    def can_hash(self) -> bool:
        return self._key is not None

    @staticmethod
    def mask(label: str) -> str:
        return f"<{label}>"

    def hashed(self, label: str, key: str, value: str) -> str:
        """`<LABEL:hex>`: the same (rule key, value) gives the same token under the same salt."""
        if self._key is None:
            raise RedactionError("hashing needs a salt")
        mac = self._key.copy()
        mac.update(f"{key}\x00{value}".encode("utf-8", "surrogatepass"))
        return f"<{label}:{mac.hexdigest()[:HASH_HEX_CHARS]}>"
