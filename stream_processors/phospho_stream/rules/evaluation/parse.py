"""Reading the model's answers strictly (phospho-analytics.md 6.3 and 14.7).

Words are whole tokens: "no" is not found in "not", "10" is not read as 1. A verdict is the
first word of the answer (after markdown and a `verdict:` label); an LLM event's confidence is
P(yes) from the first token's alternatives when the endpoint gives log-probabilities, else
the first word (1.0 or 0.0); a range is the whole number answered, within the range; a
category is 0 (absent) or 1..N. Anything else raises Unparseable, with what was wrong.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from ...config import ScoreRangeSettings
from .records import EventScore, Unparseable, Verdict

__all__ = ["parse_verdict", "parse_event", "REASON_CHARS"]

#: characters of a verdict's reason kept
REASON_CHARS = 300
_DECORATION = re.compile(r"^[\s*_`#>\"'\-.:(\[]+|[\s*_`\"'.:!,;)\]]+$")
_LEADING = re.compile(r"^[\s*_`#>\"'\-.:(\[]+")
_MARKUP = re.compile(r"^[\s*_`#>\"'\-:]+|[\s*_`\"']+$")
_LABEL = re.compile(r"^(?:verdict|answer|evaluation|rating|result|label)\s*[:=-]\s*", re.I)
_WORD = re.compile(r"\w+", re.U)
_NUMBER_FIRST = re.compile(r"^[\s*_`#>\"'(\[]*([+-]?\d+(?:\.\d+)?)(?!\w|\.\d)")
_WHOLE = re.compile(r"^[+-]?\d+(?:\.0+)?$")


def _first_word(text: str) -> tuple[str, str]:
    """The answer's first word (lowercased, markdown and a `verdict:` label set aside) and the
    rest of the answer."""
    body = text.strip()
    line, _, rest = body.partition("\n")
    line = _LEADING.sub("", _LABEL.sub("", _LEADING.sub("", line)))
    head = re.split(r"[\s,;:.!?)\]*_`\"']+", line, maxsplit=1)
    word = _DECORATION.sub("", head[0]).lower() if head else ""
    tail = head[1] if len(head) > 1 else ""
    return word, (tail + "\n" + rest).strip()


def parse_verdict(text: str) -> Verdict:
    """`success` or `failure` and the reason given, from an answer such as
    "failure\\nThe order number it gave does not exist."."""
    if not text or not text.strip():
        raise Unparseable("empty answer")
    word, rest = _first_word(text)
    if word not in ("success", "failure"):
        raise Unparseable(f"the answer does not start with success or failure: {_quote(text)}")
    reason = " ".join(_MARKUP.sub("", rest).split())
    reason = re.sub(r"^(?:reason|because)\s*[:=-]\s*", "", reason, flags=re.I)
    return Verdict(word, reason[:REASON_CHARS])  # type: ignore[arg-type]


def parse_event(settings: ScoreRangeSettings, text: str,
                top_logprobs: Sequence[tuple[str, float]] | None = None) -> EventScore:
    """An LLM event's answer for its score type; `top_logprobs` are the first generated token's
    alternatives (token, log-probability), when the endpoint gave them."""
    if settings.score_type == "confidence":
        return _confidence(text, top_logprobs)
    if settings.score_type == "range":
        return _range(settings, text, top_logprobs)
    return _category(settings, text)


def _confidence(text: str, top: Sequence[tuple[str, float]] | None) -> EventScore:
    if top:
        yes = sum(math.exp(lp) for token, lp in top if _token(token) == "yes")
        no = sum(math.exp(lp) for token, lp in top if _token(token) == "no")
        if yes + no > 0:
            p = yes / (yes + no)
            return EventScore(p > 0.5, p, "yes" if p > 0.5 else "no")
    word, _ = _first_word(text or "")
    if word == "yes":
        return EventScore(True, 1.0, "yes")
    if word == "no":
        return EventScore(False, 0.0, "no")
    raise Unparseable(f"the answer is neither yes nor no: {_quote(text)}")


def _range(settings: ScoreRangeSettings, text: str, top: Sequence[tuple[str, float]] | None) -> EventScore:
    value = _integer(text)
    if value is None or not settings.min <= value <= settings.max:
        raise Unparseable(f"the answer is not a whole number between {settings.min:g} and {settings.max:g}: "
                          f"{_quote(text)}")
    score = float(value)
    if top and settings.min >= 0 and settings.max <= 9:  # every allowed answer is one digit: one token
        weights: dict[int, float] = {}
        for token, lp in top:
            digit = _token(token)
            if digit.isdigit() and len(digit) == 1 and settings.min <= int(digit) <= settings.max:
                weights[int(digit)] = weights.get(int(digit), 0.0) + math.exp(lp)
        total = sum(weights.values())
        if total > 0:
            score = sum(d * w for d, w in weights.items()) / total
    return EventScore(True, score, str(value))


def _category(settings: ScoreRangeSettings, text: str) -> EventScore:
    categories = settings.categories or ()
    value = _integer(text)
    if value is None:
        word = " ".join(_WORD.findall((text or "").strip().lower()))
        names = {" ".join(_WORD.findall(c.lower())): i for i, c in enumerate(categories, 1)}
        if word in names:
            value = names[word]
        elif word == "none":
            value = 0
    if value is None or not 0 <= value <= len(categories):
        raise Unparseable(f"the answer is not a number between 0 and {len(categories)}: {_quote(text)}")
    if value == 0:
        return EventScore(False, 0.0, None)
    return EventScore(True, float(value), categories[value - 1])


def _integer(text: str) -> int | None:
    """The whole number the answer starts with ("4", "**4**", "4/5", "4."), else None ("4.5", "four")."""
    match = _NUMBER_FIRST.match(text or "")
    return int(float(match.group(1))) if match and _WHOLE.match(match.group(1)) else None


def _token(token: str) -> str:
    return token.strip().strip(".,:;!?*\"'`").lower()


def _quote(text: str, limit: int = 80) -> str:
    flat = " ".join((text or "").split())
    return repr(flat if len(flat) <= limit else flat[:limit] + "…")
