"""The screen that rules texts out before any detector runs: it never rules out a text (or a JSON
text) in which a detector finds something, and it does rule out ordinary prose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phospho.redaction import BUILTIN_DETECTORS, EventRedactor, Redactor, default_rules

HERE = Path(__file__).parent
PLANTED = yaml.safe_load((HERE / "corpus/planted.yaml").read_text(encoding="utf-8"))
NEAR_MISSES = yaml.safe_load((HERE / "corpus/near_misses.yaml").read_text(encoding="utf-8"))
ANALYTICS_CORPUS = HERE.parent / "analytics/corpus"
ALL = Redactor(default_rules())
ONE = {detector: Redactor([detector]) for detector in BUILTIN_DETECTORS}
REGIONAL = Redactor([{"detector": "phone", "region": "FR"}])

#: pieces of values every detector finds, their look-alikes, and what may stand around them:
#: other scripts' digits, full-width forms, quotes and the characters JSON escapes
PIECES = st.sampled_from([
    "bob@example.com", "a@b.co", "@", "+33 6 12 34 56 78", "0033 6 12 34 56 78", "06 12 34 56 78", "+",
    "00", "4111 1111 1111 1111", "4111111111111111", "٤١١١ ١١١١ ١١١١ ١١١١", "４１１１１１１１１１１１１１１１",
    "＋８１ ９０－１２３４－５６７８", "＋", "DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "GB82WEST12345698765432",
    "192.168.1.254", "10.0.0.1", "2001:db8:85a3::8a2e:370:7334", "fe80::1ff:fe23:4567:890a", "::", ":", "1:2",
    "sk-proj-4fJ9aQ2xZ7LmN3pR8sT1uV6wY0bC5dE2gH4jK7mP", "AKIAIOSFODNN7EXAMPLE", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQr",
    "sk_live_51H8xYzAbCdEfGhIjKlMnOpQr", "whsec_abcdefghijklmnopqrstuvwxyz0123", "hf_abcdefghijklmnopqrstuvwxyzABCDEF",
    "glpat-abcdefghijklmnopqrst", "npm_abcdefghijklmnopqrstuvwxyz0123456789",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "Bearer abcdefghijklmnop1234", "BEARER abcdefghijklmnop1234", "password", "Password", "API_KEY", "secret",
    "=", "hunter2hunter2", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
    "hello", "order", "2024", "12", "7", "v1.2.3.4", "заказ", "注文", "😀", "x", "-", "_", ".", "/", "(", ")",
])
GLUE = st.sampled_from(["", " ", "\n", "\t", '"', "'", "\\", ": ", "=", ", ", " : ", '" : "', "\u3000", "\u00a0"])


@st.composite
def texts(draw: st.DrawFn) -> str:
    return "".join(draw(PIECES) + draw(GLUE) for _ in range(draw(st.integers(1, 8))))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts())
def test_a_text_the_screen_rules_out_holds_nothing_any_detector_finds(text: str):
    for redactor in (ALL, REGIONAL, *ONE.values()):
        assert redactor.screen is not None
        if not redactor.screen.passes(text):
            assert redactor.redact_text(text).counts == {}, (text, redactor.rules)


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | texts(),
                           lambda children: st.lists(children, max_size=3)
                           | st.dictionaries(st.sampled_from(["content", "api_key", "role", "a"]), children, max_size=3),
                           max_leaves=8)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_VALUES, st.booleans(), st.booleans())
def test_a_json_text_the_screen_rules_out_holds_nothing_in_its_leaves_nor_as_text(value: object, ascii_only: bool,
                                                                                  slashes: bool):
    raw = json.dumps(value, ensure_ascii=ascii_only)
    if slashes:
        raw = raw.replace("/", "\\/")
    for redactor in (ALL, *ONE.values()):
        assert redactor.screen is not None
        if not redactor.screen.passes_json(raw):
            assert redactor.redact_value(value).counts == {}, (raw, redactor.rules)
            assert redactor.redact_text(raw).counts == {}, (raw, redactor.rules)


def test_every_planted_text_passes_the_screen_of_each_detector_planted_in_it():
    for item in PLANTED:
        assert ALL.screen.passes(item["text"]), item["text"]
        for detector in item["planted"]:
            assert ONE[detector].screen.passes(item["text"]), (detector, item["text"])


@pytest.mark.parametrize("raw", [
    '{"messages":[{"role":"user","content":"write to bob\\u0040example.com"}]}',     # an escaped '@'
    '{"url":"http:\\/\\/203.0.113.45\\/admin"}',                                     # escaped '/'
    '{"headers":"Authorization: Bearer\\tabcdefghijklmnop1234"}',                     # a tab before the token
    '{"config":"password\\" : \\"hunter2hunter2"}',                                  # escaped quotes in the gap
])
def test_a_value_behind_json_escapes_is_still_found(raw: str):
    assert ALL.screen.passes_json(raw)
    record = {"task_id": "t", "input": "", "raw_input": raw, "metadata": {}, "errors": [], "redactions": {}}
    assert EventRedactor(ALL).redact("task", record)
    assert record["raw_input"] != raw


def test_the_screen_rules_out_most_prose_and_its_json():
    prose = [text for path in sorted(ANALYTICS_CORPUS.glob("*.yaml"))
             for group in yaml.safe_load(path.read_text(encoding="utf-8")).values() for text in group]
    passed = [text for text in prose if ALL.screen.passes(text)]
    assert len(passed) < len(prose) * 0.15, passed
    chat = json.dumps({"messages": [{"role": "user", "content": text} for text in prose[:3]], "model": "gpt-4o-mini"},
                      ensure_ascii=False)
    assert ALL.screen.passes_json(chat) == any(ALL.screen.passes(text) for text in prose[:3])


def test_a_custom_pattern_has_no_screen():
    assert Redactor([{"detector": "regex", "pattern": r"EMP-\d{5}", "name": "employee_id"}]).screen is None
