"""Redactor: rules built once, applied to a text, a JSON-like value or a flat map of fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Generic, NamedTuple, TypeVar

from .errors import RedactionError
from .finders import finder_for
from .resolve import Chosen, choose
from .rules import BUILTIN_DETECTORS, RedactionRule, parse_rules
from .screen import Screen
from .spans import TextFacts, ascii_digits, text_facts
from .tokens import TokenMaker, token_pattern
from .walk import Tally, redact_tree

__all__ = ["Redactor", "Redaction"]

T = TypeVar("T")

#: the detectors that read TextFacts (the others are not worth its pass over the text)
_NUMBER_DETECTORS = frozenset({"phone", "credit_card", "iban", "ip"})
#: the shortest text a built-in detector can find something in ('a@b.co', '1.1.1.1')
MIN_BUILTIN_CHARS = 6
_NO_FACTS = TextFacts(0)
#: rounds of redaction of one text: the next round finds what removing a value revealed
_MAX_ROUNDS = 4


class Redaction(NamedTuple, Generic[T]):
    """A redacted value; `counts`: values replaced per rule key ('email', or a regex rule's name),
    never the values themselves; `dropped`: a drop rule (or a failed search) emptied a field;
    `errors`: one line per failed search (its field was dropped: nothing unchecked is kept)."""

    value: T
    counts: Mapping[str, int]
    dropped: bool = False
    errors: tuple[str, ...] = ()


class Redactor:
    """The rules, compiled once; immutable, so one redactor may serve many threads.

    `salt` keys the hashes of `mode: hash` rules (HMAC-SHA256; at least 16 bytes; required by
    them): the same value gives the same token wherever the same salt is used."""

    def __init__(self, rules: Iterable[RedactionRule | Mapping[str, Any] | str], *,
                 salt: str | bytes | None = None, regex_timeout_ms: float = 20.0) -> None:
        self._rules = parse_rules(rules)
        if not regex_timeout_ms > 0:
            raise RedactionError(f"regex_timeout_ms must be above 0, not {regex_timeout_ms!r}")
        self._tokens = TokenMaker(salt)
        for index, rule in enumerate(self._rules):
            if rule.mode == "hash" and not self._tokens.can_hash:
                raise RedactionError(
                    f"redact[{index}] ({rule.describe()}): mode hash needs a salt: Redactor(salt=...), "
                    "16 random bytes or more (the pipeline reads it from the variable that "
                    "privacy.salt_env names, PHOSPHO_REDACTION_SALT by default)")
        self._finders = [finder_for(rule, regex_timeout_ms / 1000) for rule in self._rules]
        #: the custom patterns' finders: the only ones that may find something in a text shorter
        #: than MIN_BUILTIN_CHARS or ruled out by the screen
        self._pattern_finders = [(index, finder) for index, finder in enumerate(self._finders)
                               if self._rules[index].detector == "regex"]
        self._screen = Screen((rule.detector for rule in self._rules if rule.detector != "regex"), MIN_BUILTIN_CHARS)
        labels = [detector.upper() for detector in BUILTIN_DETECTORS] + [r.label for r in self._rules]
        self._protect = token_pattern(labels)
        self._reads_numbers = any(rule.detector in _NUMBER_DETECTORS for rule in self._rules)

    @property
    def rules(self) -> tuple[RedactionRule, ...]:
        return self._rules

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys `counts` may hold, in rule order."""
        return tuple(rule.key for rule in self._rules)

    @property
    def screen(self) -> Screen | None:
        """One cheap search that rules a text out for every rule at once (`screen.passes(text)`
        False: redacting it gives it back); None with a custom pattern, which no screen knows."""
        return None if self._pattern_finders else self._screen

    def redact_text(self, text: str) -> Redaction[str]:
        """`text` with every value found replaced by its token, or '' when a drop rule fired."""
        if not self._pattern_finders and not self._screen.passes(text):
            return Redaction(text, {})
        tally = Tally()
        value = self._text(text, tally)
        return Redaction("" if tally.dropped else value, tally.counts, tally.dropped, tuple(tally.errors))

    def redact_value(self, value: T) -> Redaction[T]:
        """A JSON-like value (dicts, lists, tuples; keys left alone) with every string leaf (and
        every integer of 7 digits or more) redacted. The value is one field: a drop rule empties
        all of it ('', {} or [] as it was a string, a mapping or a list)."""
        tally = Tally()
        out = redact_tree(value, lambda text: self._text(text, tally), tally)
        if tally.dropped:
            out = _empty_like(value)
        return Redaction(out, tally.counts, tally.dropped, tuple(tally.errors))

    def redact_map(self, fields: Mapping[str, Any]) -> Redaction[dict[str, Any]]:
        """A flat map (metadata, span attributes): each value is its own field, redacted as by
        redact_value; a drop rule empties only the value it fired in."""
        tally = Tally()
        out: dict[str, Any] = {}
        for key, value in fields.items():
            if isinstance(value, str) and not self._pattern_finders and not self._screen.passes(value):
                out[key] = value
                continue
            field_tally = Tally()
            redacted = redact_tree(value, lambda text, t=field_tally: self._text(text, t), field_tally)
            out[key] = _empty_like(value) if field_tally.dropped else redacted
            tally.merge(field_tally)
        return Redaction(out, tally.counts, tally.dropped, tuple(tally.errors))

    def _text(self, text: str, tally: Tally) -> str:
        if len(text) < MIN_BUILTIN_CHARS and not self._pattern_finders:
            return text
        for _ in range(_MAX_ROUNDS):
            chosen = self._find(text, tally)
            if tally.dropped or not chosen:
                return text
            text = self._replace(text, chosen, tally)
            if tally.dropped:
                return text
        tally.fail(f"values still found after {_MAX_ROUNDS} rounds of redaction: the field was dropped")
        return text

    def _find(self, text: str, tally: Tally) -> list[Chosen]:
        if not text:
            return []
        if self._screen.passes(text):
            finders = enumerate(self._finders)
            view = ascii_digits(text)
            facts = text_facts(view) if self._reads_numbers else _NO_FACTS
        elif self._pattern_finders:
            finders, view, facts = iter(self._pattern_finders), ascii_digits(text), _NO_FACTS
        else:
            return []
        found: list[Chosen] = []
        for index, finder in finders:
            try:
                items = finder(view, facts)
            except TimeoutError:
                rule = self._rules[index]
                tally.fail(f"{rule.describe()}: the pattern gave up after its time limit on a "
                           f"{len(text):,}-character text: the field was dropped")
                return []
            except Exception as exc:  # noqa: BLE001 - a field nobody could check is not kept
                rule = self._rules[index]   # the exception's message may quote the text: left out
                tally.fail(f"{rule.describe()}: the detector failed ({type(exc).__name__}): "
                           "the field was dropped")
                return []
            if items:
                found.extend((item, index) for item in items)
        if not found:
            return found
        protected = [m.span() for m in self._protect.finditer(text)] if "<" in text else []
        return choose(found, protected)

    def _replace(self, text: str, chosen: list[Chosen], tally: Tally) -> str:
        pieces: list[str] = []
        at = 0
        for item, index in chosen:
            rule = self._rules[index]
            tally.count(rule.key)
            if rule.mode == "drop":
                tally.dropped = True
                continue
            pieces.append(text[at:item.start])
            pieces.append(self._tokens.hashed(rule.label, rule.key, item.value) if rule.mode == "hash"
                          else self._tokens.mask(rule.label))
            at = item.end
        pieces.append(text[at:])
        return "".join(pieces)


def _empty_like(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {}
    if isinstance(value, list | tuple):
        return type(value)()
    return ""
