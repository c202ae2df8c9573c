"""Payment card numbers (issuer prefix, length and Luhn) and IBANs (python-stdnum's checks)."""

from __future__ import annotations

import re

from stdnum import iban as stdnum_iban
from stdnum import luhn

from .spans import Found, TextFacts, scan

__all__ = ["find_cards", "find_ibans", "CARD_CANDIDATE", "IBAN_CANDIDATE"]

#: 13-19 digits, bare or in the groups cards are printed in (4-4-4-4, 4-4-4-4-3, 4-6-5, 4-6-4),
#: one separator kind, maybe one more group (an expiry '12 27', a CVV), which the check drops;
#: never the groups after two groups of four (inside a tracking number, '9400 1000 0000 ...')
CARD_CANDIDATE = re.compile(
    r"[0-9](?<![A-Za-z0-9_.+/-][0-9])(?<![0-9]{4}[ -][0-9]{4}[ -][0-9])"
    r"(?:[0-9]{12,18}(?![0-9])"
    r"|[0-9]{3}(?P<s>[ -])(?:[0-9]{6}(?P=s)[0-9]{4,5}|[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{1,4})"
    r"(?:(?P=s)[0-9]{1,4})?(?![0-9]|(?P=s)[0-9]))")

#: (lowest prefix, highest prefix, lengths): the issuer ranges of the major card networks
_ISSUERS: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("4", "4", frozenset({13, 16, 19})),                     # Visa
    ("51", "55", frozenset({16})), ("2221", "2720", frozenset({16})),   # Mastercard
    ("34", "34", frozenset({15})), ("37", "37", frozenset({15})),       # American Express
    ("2200", "2204", frozenset(range(16, 20))),              # Mir
    ("300", "305", frozenset(range(14, 20))), ("36", "36", frozenset(range(14, 20))),
    ("38", "39", frozenset(range(16, 20))),                  # Diners Club
    ("3528", "3589", frozenset(range(16, 20))),              # JCB
    ("50", "50", frozenset(range(13, 20))), ("56", "69", frozenset(range(13, 20))),  # Maestro,
)                                                            # Discover, UnionPay, RuPay

#: two letters, two check digits, then 11-30 letters or digits, bare or in groups of four; the
#: match starts at the first check digit (the letters are checked behind it)
IBAN_CANDIDATE = re.compile(
    r"[0-9](?<=[A-Za-z]{2}[0-9])(?<![A-Za-z0-9_][A-Za-z]{2}[0-9])[0-9]"
    r"(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,4})?(?![A-Za-z0-9_])")


def find_cards(text: str, facts: TextFacts) -> list[Found]:
    """Card numbers whose issuer prefix, length and Luhn check digit agree; value: the digits."""
    if facts.longest_run < 13:
        return []
    return scan(CARD_CANDIDATE, text, _card, retry_inside=True)


def _card(match: re.Match[str]) -> Found | None:
    """The candidate, or it without its last group (an expiry or a CVV), when it is a card."""
    candidate = match.group()
    separator = match.group("s")
    pieces = (candidate, candidate.rsplit(separator, 1)[0]) if separator else (candidate,)
    for piece in pieces:
        number = piece.replace(separator, "") if separator else piece
        if _issued(number) and luhn.is_valid(number):
            return Found(match.start(), match.start() + len(piece), number)
    return None


def _issued(digits: str) -> bool:
    length = len(digits)
    for low, high, lengths in _ISSUERS:
        if length in lengths and low <= digits[:len(low)] <= high:
            return True
    return False


def find_ibans(text: str, facts: TextFacts) -> list[Found]:
    """IBANs that pass the country's format and the mod-97 check; value: compact, upper case.
    A candidate followed by more groups ('... 0130 00 1234') is tried without its last groups.
    Searched only when a run of digits follows two letters (the country code: the check digits
    follow it)."""
    if not facts.run_after_letters:
        return []
    return scan(IBAN_CANDIDATE, text, _iban, retry_inside=True)


def _iban(match: re.Match[str]) -> Found | None:
    start = match.start() - 2
    candidate = match.string[start:match.end()]
    while True:
        compact = candidate.replace(" ", "").upper()
        if len(compact) < 15:
            return None
        if _mod97(compact) and stdnum_iban.is_valid(compact):
            return Found(start, start + len(candidate), compact)
        if " " not in candidate:
            return None
        candidate = candidate.rsplit(" ", 1)[0]


def _mod97(compact: str) -> bool:
    """The ISO 7064 check, before the slower full validation."""
    rearranged = compact[4:] + compact[:4]
    try:
        return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1
    except ValueError:
        return False
