"""A redaction rule (`{detector: email, mode: mask}`), checked alone and with the others."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import phonenumbers
import regex
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from .errors import RuleError

__all__ = ["RedactionRule", "Detector", "Mode", "BUILTIN_DETECTORS", "MODES", "parse_rules",
           "check_rules", "default_rules"]

Detector = Literal["email", "phone", "credit_card", "iban", "ip", "secret", "regex"]
Mode = Literal["mask", "hash", "drop"]

#: the detectors that need no pattern (default_rules() keeps this order)
BUILTIN_DETECTORS: tuple[str, ...] = ("secret", "email", "credit_card", "iban", "ip", "phone")
MODES: tuple[str, ...] = ("mask", "hash", "drop")

_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


class RedactionRule(BaseModel):
    """One detector and what becomes of what it finds: masked, replaced by a salted hash, or the
    whole field dropped. A `regex` rule has a `pattern` and a `name`; a `phone` rule may have a
    `region` (ISO 3166, e.g. FR) whose national formats it also finds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    detector: Detector
    mode: Mode = "mask"
    pattern: str | None = None
    name: str | None = None
    region: str | None = None

    @field_validator("name")
    @classmethod
    def _identifier(cls, name: str | None) -> str | None:
        if name is not None:
            if not _NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a name: a-z, 0-9 and _, starting with a letter, "
                                 "up to 40 characters (it names the counts and the mask <NAME>)")
            if name in BUILTIN_DETECTORS:
                raise ValueError(f"{name!r} is a built-in detector's name: choose another")
        return name

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                compiled = regex.compile(pattern)
            except regex.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
            if compiled.search("") is not None:
                raise ValueError("the pattern matches an empty text, so it would match everywhere")
        return pattern

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str | None) -> str | None:
        if region is not None:
            region = region.strip().upper()
            if region not in phonenumbers.SUPPORTED_REGIONS:
                raise ValueError(f"{region!r} is not a region phonenumbers knows (ISO 3166 "
                                 "alpha-2, such as FR, DE, US)")
        return region

    @model_validator(mode="after")
    def _fields_of_the_detector(self) -> RedactionRule:
        if self.detector == "regex":
            if self.pattern is None:
                raise ValueError("a regex rule needs a pattern")
            if self.name is None:
                raise ValueError("a regex rule needs a name (the counts key and the mask <NAME>)")
        else:
            for field in ("pattern", "name"):
                if getattr(self, field) is not None:
                    raise ValueError(f"{field} is only read by regex rules, not {self.detector}")
        if self.region is not None and self.detector != "phone":
            raise ValueError(f"region is only read by phone rules, not {self.detector}")
        return self

    @property
    def key(self) -> str:
        """What the counts call this rule: the detector, or a regex rule's name."""
        return self.name if self.name is not None else self.detector

    @property
    def label(self) -> str:
        """The mask's word: EMAIL, CREDIT_CARD, or a regex rule's name in capitals."""
        return self.key.upper()

    def describe(self) -> str:
        """'email', or 'regex employee_id': how error messages name the rule."""
        return f"regex {self.name}" if self.detector == "regex" else self.detector

    def fingerprint(self) -> dict[str, Any]:
        """What decides this rule's output (for a config's version hash)."""
        return self.model_dump(mode="json", exclude_none=True)


def parse_rules(rules: Iterable[RedactionRule | Mapping[str, Any] | str]) -> tuple[RedactionRule, ...]:
    """Rules from models, mappings or bare detector names ('email' = mask); checked together.
    Raises RuleError (one line naming the rule) when one cannot be used."""
    if isinstance(rules, str | bytes | Mapping):
        raise RuleError(0, None, "give a list of rules, e.g. [{detector: email, mode: mask}]")
    parsed: list[RedactionRule] = []
    for index, rule in enumerate(rules):
        if isinstance(rule, RedactionRule):
            parsed.append(rule)
            continue
        data = {"detector": rule} if isinstance(rule, str) else rule
        if not isinstance(data, Mapping):
            raise RuleError(index, None, f"a rule is a mapping such as {{detector: email, mode: mask}}, "
                            f"not a {type(rule).__name__}")
        try:
            parsed.append(RedactionRule.model_validate(dict(data)))
        except ValidationError as exc:
            raise _rule_error(index, data, exc) from None
    check_rules(parsed)
    return tuple(parsed)


def check_rules(rules: Sequence[RedactionRule]) -> None:
    """Refuse a built-in detector given twice, or two regex rules with one name (RuleError)."""
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        if rule.key in seen:
            field = "name" if rule.detector == "regex" else "detector"
            raise RuleError(index, field, f"{rule.key!r} is already redact[{seen[rule.key]}]: one "
                            "rule per detector (and per regex name)", rule.describe())
        seen[rule.key] = index


def default_rules(mode: Mode = "mask") -> tuple[RedactionRule, ...]:
    """Every built-in detector with one mode (phone numbers in international format only)."""
    return tuple(RedactionRule(detector=detector, mode=mode) for detector in BUILTIN_DETECTORS)


def _rule_error(index: int, data: Mapping[str, Any], exc: ValidationError) -> RuleError:
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    if first["type"] == "extra_forbidden":
        problem = "unknown field (a rule has detector, mode, and pattern + name or region)"
    elif first["type"] == "missing":
        problem = "required field missing"
    elif first["type"] == "literal_error" and field in ("detector", "mode"):
        allowed = ", ".join(BUILTIN_DETECTORS + ("regex",)) if field == "detector" else ", ".join(MODES)
        problem = f"{data.get(field)!r} is not one of {allowed}"
    else:
        problem = first["msg"].removeprefix("Value error, ")
    detector, name = data.get("detector"), data.get("name")
    if detector == "regex":
        rule = f"regex {name}" if isinstance(name, str) else ""
    else:
        rule = detector if isinstance(detector, str) else ""
    return RuleError(index, field, problem, rule)
