"""The `privacy:` section: redaction rules (phospho.redaction's), the salt's variable, retention."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from phospho.redaction import SALT_ENV, RedactionError, RedactionRule, Redactor, salt_from_env

from .errors import ConfigError

__all__ = ["PrivacySettings", "RetentionSettings"]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class RetentionSettings(BaseModel):
    """How long data is kept, in days (none: for ever): task texts, and the figures made from them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    raw_text_days: int | None = Field(default=None, ge=1, le=36_500)
    aggregates_days: int | None = Field(default=None, ge=1, le=36_500)

    @property
    def topic_ms(self) -> int | None:
        """The retention.ms of the pipeline's topics: they hold raw text, kept as long as the store
        keeps it (None: the cluster's default)."""
        return self.raw_text_days * 86_400_000 if self.raw_text_days is not None else None

    @model_validator(mode="after")
    def _aggregates_outlive_texts(self) -> RetentionSettings:
        raw = self.raw_text_days
        aggregates = self.aggregates_days
        if aggregates is not None and (raw is None or aggregates < raw):
            kept = "for ever" if raw is None else f"{raw} days"
            raise ValueError(f"aggregates_days ({aggregates}) is shorter than raw_text_days ({kept}): "
                             "the figures would go before the texts they are made from")
        return self


class PrivacySettings(BaseModel):
    """Redaction before storage and retention. `salt_env` names the environment variable that holds
    the salt of `mode: hash` rules (a secret: never in the config file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    redact: tuple[RedactionRule, ...] = ()
    salt_env: str = SALT_ENV
    retention: RetentionSettings = RetentionSettings()

    @field_validator("salt_env")
    @classmethod
    def _variable_name(cls, name: str) -> str:
        if not _ENV_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not an environment variable name")
        return name

    def redactor(self, environ: Mapping[str, str] | None = None,
                 regex_timeout_ms: float = 20.0) -> Redactor | None:
        """The redactor of these rules (None when there are none), its salt read from `salt_env`
        in `environ` (default: the process environment). ConfigError (one line) when a hash rule
        has no salt or the salt is too short."""
        if not self.redact:
            return None
        salt = salt_from_env(self.salt_env, environ)
        if salt is None:
            for index, rule in enumerate(self.redact):
                if rule.mode == "hash":
                    raise ConfigError(
                        f"privacy.redact[{index}] ({rule.describe()}): mode hash needs a salt: set "
                        f"${self.salt_env} to a random secret of 16 bytes or more, the same wherever "
                        "tokens are compared (python -c 'import secrets; print(secrets.token_hex(32))')")
        try:
            return Redactor(self.redact, salt=salt, regex_timeout_ms=regex_timeout_ms)
        except RedactionError as exc:
            raise ConfigError(f"privacy.salt_env: ${self.salt_env}: {exc}") from None
