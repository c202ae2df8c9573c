"""One regex search that rules a text out for every built-in detector of a rule set at once.

Most texts an app logs hold nothing to redact, and the detectors' own gates (a digit count, a pass
over the digit runs, a test per secret prefix) cost ~10 µs per text in Python. The screen asks
what any of them needs in one search led by one character class, so that the regex engine skips
in C from one possible character to the next: an '@'; 4 digits or more (7 for phone alone); two
':' with only hex digits or dots between (IPv6); a secret's prefix (`sk-`, `_live_`, `AKIA`,
`eyJ`, 'earer', the end of a key word before '=' or ':'...); a digit of another script or '＋'
(the detectors then read a text whose digits and full-width forms were made ASCII). No match:
none of those detectors can find anything. A match promises nothing: they run.

Every branch is "somewhere, these characters": no anchor, no negative lookaround. So a text
that passes holds no part that would not pass, and a JSON document whose text (escapes
decoded) fails holds no string leaf or integer that passes: it need not be parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

__all__ = ["Screen"]

#: (lead characters, branch) per detector; a branch opens with a lookbehind on its lead, and the
#: most frequent leads come first (each character found tries the branches in turn)
_IP = (":", r"(?<=:)[0-9A-Fa-f.]*+:")       # two ':' with hex digits between (IPv6)
_NUMBERS = ("", r"(?<=[0-9])(?:[^0-9]*+[0-9]){{{more}}}")   # digits (with the lead: `more` + 1)
_SECRET = (
    # '=' or ':' after the end of api_key, client_secret, access_token, password, passwd, pwd...
    # and up to 4 quotes or spaces (`password" : ...`)
    # (its last letter tested first: the case-blind test of three is slower)
    ("=:", "(?<=[=:])(?:" + "|".join(rf"(?<=[yYtTnNdD][\"'\s]{{{gap}}}[=:])(?<=(?i:key|ret|ken|ord|swd|pwd)[\"'\s]{{{gap}}}[=:])"
                                     for gap in range(5)) + ")"),
    # PEM block, OpenAI/Anthropic sk-, GitLab glpat-, Slack xox?-
    ("-", r"(?<=-)(?:----BEGIN|(?<=sk-)|(?<=glpat-)|(?<=xox[abposr]-))"),
    ("A", r"(?<=A)(?:[KS]IA|Iza)"),                      # AWS, Google
    # Stripe sk_live_/rk_test_, whsec_; GitHub gh?_ / github_pat_; Hugging Face hf_; npm_
    ("_", r"(?<=_)(?:(?<=[sr]k_)(?:live|test)_|(?<=whsec_)|(?<=gh[pousr]_)|(?<=github_)pat_|(?<=hf_)|(?<=npm_))"),
    ("J", r"(?<=eyJ)"),                                  # JWT
)
_EMAIL = ("@", "(?<=@)")
#: a lead character not ASCII: a decimal digit of another script (or '＋'), not an emoji
_OTHER_SCRIPT = ("\uff0b", r"(?<=[^\x00-\x7f])(?<=[\d\uff0b])")
#: the digits a text needs before each number detector may find something in it
_NUMBER_DIGITS = {"phone": 7, "credit_card": 4, "iban": 4, "ip": 4}
#: what a JSON string holds for each escape but \uXXXX (an escaped backslash: a character no branch reads)
_ESCAPES = (("\\\\", "\x00"), ('\\"', '"'), ("\\/", "/"), ("\\b", "\b"), ("\\f", "\f"), ("\\n", "\n"),
            ("\\r", "\r"), ("\\t", "\t"))


class Screen:
    """`passes(text)`: False when none of `detectors` (built-in detector names) can find anything
    in `text`; True when they must run. `min_chars`: the shortest text any of them finds a value in."""

    def __init__(self, detectors: Iterable[str], min_chars: int = 1) -> None:
        detectors = set(detectors)
        self._min_chars = min_chars
        parts: list[tuple[str, str]] = []
        if "ip" in detectors:
            parts.append(_IP)
        digits = min((_NUMBER_DIGITS[d] for d in detectors if d in _NUMBER_DIGITS), default=0)
        if digits:
            parts.append((_NUMBERS[0], _NUMBERS[1].format(more=digits - 1)))
        self._bearer = "secret" in detectors
        if self._bearer:
            parts.extend(_SECRET)
        if "email" in detectors:
            parts.append(_EMAIL)
        if detectors:
            parts.append(_OTHER_SCRIPT)
        chars = "".join(re.escape(char) for char in sorted({char for lead, _ in parts for char in lead}))
        branches = "|".join(branch for _, branch in parts)
        self._search = (re.compile(f"[0-9{chars}{_other_digits()}\U00010000-\U0010ffff](?:{branches})").search
                        if parts else None)

    def passes(self, text: str) -> bool:
        """True when a detector may find something in `text` (they must run), False when none can."""
        if self._search is None or len(text) < self._min_chars:
            return False
        return self._search(text) is not None or self._bearer and ("earer" in text or "EARER" in text)

    def passes_json(self, raw: str) -> bool:
        """True when a detector may find something in a string leaf or an integer of the JSON text
        `raw`, or in `raw` read as text (it may not be JSON); False when none can."""
        if self.passes(raw):
            return True
        if self._search is None or "\\" not in raw:
            return False
        if "\\u" in raw:
            return True
        for escape, char in _ESCAPES:
            raw = raw.replace(escape, char)
        return self.passes(raw)


@cache
def _other_digits() -> str:
    """The decimal digits of other scripts below U+10000, as a character class's ranges (those
    above, with every other character there, lead to a test of the Unicode category)."""
    ranges: list[list[int]] = []
    for code in range(0x80, 0x10000):
        if chr(code).isdecimal():
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(f"{chr(low)}-{chr(high)}" for low, high in ranges)
