"""E-mail addresses and phone numbers (phonenumbers: international format, or a region's own)."""

from __future__ import annotations

import re

import phonenumbers

from .spans import Found, TextFacts, scan

__all__ = ["find_emails", "PhoneFinder", "EMAIL_CANDIDATE", "PHONE_CANDIDATES"]

#: the local part: ASCII and Latin letters (josé, müller), digits and . _ % + ' -; a letter of
#: another script before it (请发邮件到bob@...) is not taken into the address. An apostrophe
#: inside it is kept (o'brien@...), one before it is a quote ('bob@example.com')
_LOCAL = "A-Za-z0-9\u00c0-\u024f._%+'-"
_BEFORE = _LOCAL.replace("'", "")
EMAIL_CANDIDATE = re.compile(
    rf"(?<![{_BEFORE}])[A-Za-z0-9\u00c0-\u024f][{_LOCAL}]{{0,63}}@(?:[^\W_][\w-]{{0,62}}\.)+"
    r"(?:[A-Za-z]{2,24}|xn--[A-Za-z0-9-]{1,59})(?![A-Za-z0-9_])")

_SEPARATORS = " \u00a0\u202f.\\-/()"
#: '+' or '00' (or, with a region, any digit), then digits and separators; phonenumbers checks
#: the number. Each pattern opens with a character class and checks what stands before it in a
#: lookbehind after it, so the engine jumps from one possible first character to the next.
_INTERNATIONAL = re.compile(
    rf"[+0](?:(?<=\+)(?<![A-Za-z0-9_+]\+)|(?<![A-Za-z0-9_+.,/:-]0)0)"
    rf"[ \u00a0]?\(?[1-9][0-9{_SEPARATORS}]{{5,22}}[0-9](?![0-9])")
_NATIONAL = re.compile(
    rf"[+(0-9](?:(?<=\+)(?<![A-Za-z0-9_+]\+)|(?<!\+)(?<![A-Za-z0-9_+.,/:-].)(?<![0-9][ \u00a0].))"
    rf"[0-9{_SEPARATORS}]{{5,22}}[0-9](?![0-9])")
PHONE_CANDIDATES = (_INTERNATIONAL, _NATIONAL)

_DIGIT_RUN = re.compile(r"[0-9]+")
#: a piece that starts with a date (2024-01-15, 15.01.2024, 1/15/24) is not a phone number
_DATE = re.compile(r"[0-9]{4}[./-][0-9]{1,2}[./-][0-9]{1,2}(?![0-9])|[0-9]{1,2}([./-])[0-9]{1,2}\1(?:19|20)[0-9][0-9](?![0-9])"
                   r"|[0-9]{1,2}/[0-9]{1,2}/[0-9][0-9](?![0-9])")
_IPV4_LIKE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_MIN_DIGITS, _MAX_DIGITS = 7, 15
#: prefixes of one candidate given to phonenumbers at most (each parse costs ~15 µs)
_TRIES = 6


def find_emails(text: str, facts: TextFacts | None = None) -> list[Found]:
    """E-mail addresses, normalised to lower case."""
    if "@" not in text:
        return []
    return [Found(m.start(), m.end(), m.group().lower()) for m in EMAIL_CANDIDATE.finditer(text)]


class PhoneFinder:
    """Phone numbers that phonenumbers calls valid. Without a region, only international ones
    (`+33 6 12 34 56 78`, `0033 6 ...`); with one, also that region's national format
    (`06 12 34 56 78` for FR) when written with separators or its trunk prefix. Dates, IPv4
    addresses and bare digit runs without '+' are never phone numbers."""

    def __init__(self, region: str | None = None) -> None:
        self._region = region
        self._pattern = _INTERNATIONAL if region is None else _NATIONAL
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region) if region else None
        self._trunk = (metadata.national_prefix or "") if metadata is not None else ""

    def __call__(self, text: str, facts: TextFacts) -> list[Found]:
        if facts.digits < _MIN_DIGITS or self._region is None and "+" not in text and "00" not in text:
            return []
        return scan(self._pattern, text, self._check)

    def _check(self, match: re.Match[str]) -> Found | None:
        """The longest valid prefix of the candidate that ends a digit group (what follows a
        number, '24/7' or a quantity, may have been taken into the candidate)."""
        candidate = match.group()
        ends, digits, total = [], [], 0
        for run in _DIGIT_RUN.finditer(candidate):
            total += run.end() - run.start()
            ends.append(run.end())
            digits.append(total)
        tries = 0
        for end, count in zip(reversed(ends), reversed(digits), strict=True):
            if count < _MIN_DIGITS or tries == _TRIES:
                return None
            piece = candidate[:end]
            if count > _MAX_DIGITS or not self._plausible(piece):
                continue
            tries += 1
            e164 = self._parse(piece)
            if e164 is not None:
                return Found(match.start(), match.start() + end, e164)
        return None

    def _plausible(self, piece: str) -> bool:
        if _DATE.match(piece) or _IPV4_LIKE.fullmatch(piece):
            return False
        if piece.startswith("+"):
            return True
        bare = piece.isdigit()
        if piece.startswith("00"):
            return not bare
        return self._region is not None and (not bare or bool(self._trunk) and piece.startswith(self._trunk))

    def _parse(self, piece: str) -> str | None:
        if piece.startswith("00"):
            piece = "+" + piece[2:]
        try:
            number = phonenumbers.parse(piece, self._region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
