"""The finder of each rule: a built-in detector, or a custom pattern under a time limit."""

from __future__ import annotations

import regex

from .contact import PhoneFinder, find_emails
from .credentials import find_secrets
from .financial import find_cards, find_ibans
from .network import find_ips
from .rules import RedactionRule
from .spans import Finder, Found, TextFacts

__all__ = ["finder_for", "PatternFinder"]

_BUILTIN: dict[str, Finder] = {
    "email": find_emails, "credit_card": find_cards, "iban": find_ibans, "ip": find_ips,
    "secret": find_secrets,
}


class PatternFinder:
    """Every match of a custom pattern (the `regex` module, Python `re` syntax). A search that
    runs longer than `timeout_s` on one text raises TimeoutError (a runaway pattern such as
    `(a+)+$` would otherwise hold the thread)."""

    def __init__(self, pattern: str, timeout_s: float) -> None:
        self._pattern = regex.compile(pattern)
        self._timeout_s = timeout_s

    def __call__(self, text: str, facts: TextFacts | None = None) -> list[Found]:
        return [Found(m.start(), m.end(), m.group())
                for m in self._pattern.finditer(text, timeout=self._timeout_s) if m.end() > m.start()]


def finder_for(rule: RedactionRule, timeout_s: float) -> Finder:
    """The finder that applies `rule` (its mode is the redactor's business)."""
    if rule.detector == "regex":
        assert rule.pattern is not None
        return PatternFinder(rule.pattern, timeout_s)
    if rule.detector == "phone":
        return PhoneFinder(rule.region)
    return _BUILTIN[rule.detector]
