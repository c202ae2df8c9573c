"""Properties over generated texts: redaction never raises, leaves no planted value, and redacting
its output again changes nothing."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from phospho.redaction import Redactor, default_rules

SALT = "a test salt of more than sixteen bytes"
CUSTOM = {"detector": "regex", "pattern": r"EMP-\d{5}", "name": "employee_id"}
REDACTORS = {mode: Redactor([*default_rules(mode), {**CUSTOM, "mode": mode}], salt=SALT)
             for mode in ("mask", "hash", "drop")}

PLANTED = [
    "jane.doe+shop@example.co.uk", "Alex.Martin@Example.COM", "josé.garcía@empresa.es", "+44 7400 123456",
    "+33 6 12 34 56 78", "+1 (415) 555-2671", "0033 6 12 34 56 78", "+81 90-1234-5678", "+7 912 345-67-89",
    "4111 1111 1111 1111", "5555-5555-5555-4444", "3782 822463 10005", "6011111111111117",
    "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "FR14 2004 1010 0505 0001 3M02 606",
    "192.168.1.254", "203.0.113.45", "2001:db8:85a3::8a2e:370:7334", "fe80::1ff:fe23:4567:890a",
    "sk-proj-4fJ9aQ2xZ7LmN3pR8sT1uV6wY0bC5dE2gH4jK7mP", "AKIAIOSFODNN7EXAMPLE",
    "ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "sk_live_51H8xYzAbCdEfGhIjKlMnOpQr",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "EMP-12345", "EMP-00042",
]
CARDS = {"4111 1111 1111 1111", "5555-5555-5555-4444", "3782 822463 10005", "6011111111111117"}
#: everyday words and the look-alikes of the near-miss corpus (dates, versions, prices, order numbers)
FILLER = st.sampled_from([
    "hello", "my", "order", "AB-123456", "is", "late", "on", "2024-01-15", "costs", "$12.99", "v1.2.3",
    "merci", "für", "注文", "заказ", "ok", "1.2.3", "10:30", "3-5", "days", "#42", "(", ")", "<b>", "@home",
    "x", "—", "ISBN", "978-3-16-148410-0", "...", "<EMAIL>", "<", ">", "EMP", "sk-", "::", "4111",
    "2024", "12", "0", "+", "00", "(0)", "#", "1 2 3", "DE", "9400 1000", "x:", "a@", "Bearer", "password:",
])
SEPARATORS = st.sampled_from([" ", "\n", ", ", ": ", " (", ") ", ". ", "\t", " — "])


@st.composite
def texts_with_planted_values(draw: st.DrawFn) -> tuple[str, list[str]]:
    pieces: list[str] = []
    planted: list[str] = []
    for _ in range(draw(st.integers(1, 12))):
        if draw(st.booleans()):
            value = draw(st.sampled_from(PLANTED))
            planted.append(value)
            pieces.append(draw(SEPARATORS) + value + draw(SEPARATORS))
        else:
            pieces.append(draw(FILLER) + draw(st.sampled_from([" ", "", ", "])))
    return "".join(pieces), planted


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts_with_planted_values(), st.sampled_from(sorted(REDACTORS)))
def test_no_planted_value_survives_and_redacting_again_changes_nothing(case: tuple[str, list[str]], mode: str):
    text, planted = case
    # documented: a card number followed by more digit groups, or right after two groups of four
    # digits, may be taken as a piece of a longer number (a tracking number); the test leaves
    # out every card followed by a digit, a superset of those cases
    assume(not any(re.search(r"\d{4}[ -]\d{4}[ -]" + re.escape(value) + "|" + re.escape(value) + r"[ -]\d", text)
                   for value in planted if value in CARDS))
    redactor = REDACTORS[mode]
    once = redactor.redact_text(text)
    assert once.errors == ()
    for value in planted:
        assert value not in once.value, (value, once.value)
    assert sum(once.counts.values()) >= (1 if planted else 0)
    twice = redactor.redact_text(once.value)
    assert twice.value == once.value and twice.counts == {}
    if mode == "drop":
        assert once.value == ("" if once.counts else text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.sampled_from(sorted(REDACTORS)))
def test_any_text_is_redacted_without_error_and_idempotently(text: str, mode: str):
    redactor = REDACTORS[mode]
    once = redactor.redact_text(text)
    assert once.errors == ()
    assert redactor.redact_text(once.value).value == once.value


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
                    | st.sampled_from(PLANTED),
                    lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=20))
def test_any_json_like_value_keeps_its_shape(value: object):
    result = REDACTORS["mask"].redact_value(value)
    assert result.errors == ()
    assert type(result.value) is type(value) or isinstance(value, int | str)
    if isinstance(value, dict):
        assert list(result.value) == list(value)
    assert REDACTORS["mask"].redact_value(result.value).value == result.value


def test_every_planted_value_between_any_two_separators_is_found():
    """Each value after and before any of these; a '.', '-', '/', ':' or ',' glued before a number
    makes it part of a larger token (a decimal, a path, a range), which is left alone on purpose."""
    before = [" ", "\n", "\t", ", ", ": ", " (", "(", ") ", ". ", " — ", "'", '"', "[", ";", "!", "?", "*",
              "`", "<", ">", "|", "=", "#", "，", "。", "「"]
    after = before + [")", "]", ".", ",", ":", "/", "」"]
    redactor = REDACTORS["mask"]
    missed = [(b, value, a) for value in PLANTED for b in before for a in after
              if value in redactor.redact_text(f"word{b}{value}{a}word").value]
    assert missed == []
