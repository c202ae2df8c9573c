"""Secrets pasted by mistake: API keys of well-known formats, JWTs, bearer tokens, assignments
such as `password = ...`, and PEM private key blocks."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .spans import Found, TextFacts

__all__ = ["find_secrets", "SECRET_CANDIDATES"]

#: (a character every match holds, then strings one of which it holds (of the lower-cased text
#: when the pattern ignores case), the pattern, the group redacted: 0 for the whole match); the
#: substring tests skip a pattern's search in the text that cannot hold it
_FORMATS: tuple[tuple[str, tuple[str, ...], bool, str, int], ...] = (
    # PEM private key blocks (RSA, EC, OPENSSH, ENCRYPTED...); a block cut before its END line
    # is redacted to the end of the text
    ("-", ("-----BEGIN",), False, r"-----BEGIN[A-Z ]{0,30}PRIVATE KEY(?: BLOCK)?-----(?:[^-]|-(?!----END))*"
                                  r"(?:-----END[A-Z ]{0,30}PRIVATE KEY(?: BLOCK)?-----)?", 0),
    ("-", ("sk-",), False, r"(?<![\w-])sk-(?:proj-|svcacct-|admin-|ant-[a-z]{3,5}\d\d-)?[A-Za-z0-9_-]{20,}", 0),
    ("-", ("glpat-",), False, r"(?<!\w)glpat-[A-Za-z0-9_-]{20,}", 0),           # GitLab
    ("-", ("xox",), False, r"(?<!\w)xox[abposr]-[A-Za-z0-9-]{10,}", 0),        # Slack
    ("_", ("k_live_", "k_test_"), False, r"(?<!\w)[sr]k_(?:live|test)_[A-Za-z0-9]{16,}", 0),  # Stripe
    ("_", ("whsec_",), False, r"(?<!\w)whsec_[A-Za-z0-9+/]{24,}", 0),           # Stripe webhooks
    ("_", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), False,
     r"(?<!\w)(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})", 0),  # GitHub
    ("_", ("hf_",), False, r"(?<!\w)hf_[A-Za-z0-9]{30,}", 0),                   # Hugging Face
    ("_", ("npm_",), False, r"(?<!\w)npm_[A-Za-z0-9]{36}(?!\w)", 0),            # npm
    ("A", ("AKIA", "ASIA"), False, r"(?<![A-Za-z0-9])A[KS]IA[A-Z0-9]{16}(?![A-Za-z0-9])", 0),  # AWS
    ("A", ("AIza",), False, r"(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])", 0),    # Google
    ("J", ("eyJ",), False, r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", 0),
    # the token after 'Bearer', the value after 'password:' / 'api_key=' (the word is kept)
    ("eE", ("earer", "EARER"), False, r"(?i:\bbearer)\s+([A-Za-z0-9._~+/-]{16,}=*)", 1),
    (":=", ("key", "secret", "token", "pass", "pwd"), True,
     r"(?i:\b(?:aws_secret_access_key|secret_access_key|api[_-]?key|apikey|secret[_-]?key|"
     r"client[_-]?secret|access[_-]?token|auth[_-]?token|refresh[_-]?token|password|passwd|pwd))"
     r"[\"']?\s{0,3}[=:]\s{0,3}[\"']?([^\s\"'<>,;]{8,})", 1),
)
SECRET_CANDIDATES = tuple(re.compile(pattern) for *_, pattern, _ in _FORMATS)
#: the formats by the character they hold: one test of that character skips them all
_BY_GATE: tuple[tuple[str, tuple[tuple[tuple[str, ...], bool, re.Pattern[str], int], ...]], ...] = tuple(
    (gate, tuple((hints, lower, compiled, group)
                 for (g, hints, lower, _, group), compiled in zip(_FORMATS, SECRET_CANDIDATES, strict=True)
                 if g == gate))
    for gate in dict.fromkeys(g for g, *_ in _FORMATS))


def find_secrets(text: str, facts: TextFacts | None = None) -> list[Found]:
    """Secrets; for a bearer token or an assignment, only the value (not 'Bearer' or 'password:')."""
    found: list[Found] = []
    lowered = ""
    for gate, formats in _BY_GATE:
        if gate not in text if len(gate) == 1 else not _any_in(gate, text):
            continue
        for hints, lower, pattern, group in formats:
            if lower and not lowered:
                lowered = text.lower()
            if not _any_in(hints, lowered if lower else text):
                continue
            for match in pattern.finditer(text):
                value = match.group(group)
                if group and value.rstrip(".!?)").isalpha():   # 'password: forgotten.' is a word
                    continue
                found.append(Found(match.start(group), match.end(group), value))
    return found


def _any_in(needles: Iterable[str], text: str) -> bool:
    for needle in needles:
        if needle in text:
            return True
    return False
