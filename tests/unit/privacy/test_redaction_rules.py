"""Rules are checked when the redactor is built: a bad one is one line naming it."""

from __future__ import annotations

import pytest

from phospho.redaction import (
    BUILTIN_DETECTORS,
    RedactionError,
    RedactionRule,
    Redactor,
    RuleError,
    default_rules,
    parse_rules,
    salt_from_env,
)


def test_rules_come_as_models_mappings_or_bare_detector_names():
    rules = parse_rules(["email", {"detector": "credit_card", "mode": "drop"},
                         RedactionRule(detector="regex", pattern=r"EMP-\d{5}", mode="hash", name="employee_id")])
    assert [(r.detector, r.mode, r.key, r.label) for r in rules] == [
        ("email", "mask", "email", "EMAIL"), ("credit_card", "drop", "credit_card", "CREDIT_CARD"),
        ("regex", "hash", "employee_id", "EMPLOYEE_ID")]
    assert [r.detector for r in default_rules("hash")] == list(BUILTIN_DETECTORS)
    assert {r.mode for r in default_rules("hash")} == {"hash"}


@pytest.mark.parametrize(("rules", "expected"), [
    ([{"detector": "telephone"}], "redact[0] (telephone).detector: 'telephone' is not one of secret, email, credit_card, "
                                  "iban, ip, phone, regex"),
    (["email", {"detector": "ip", "mode": "blur"}], "redact[1] (ip).mode: 'blur' is not one of mask, hash, drop"),
    ([{"detector": "regex", "name": "employee_id", "pattern": "EMP-(\\d{5}"}],
     "redact[0] (regex employee_id).pattern: not a valid regular expression: missing )"),
    ([{"detector": "regex", "name": "anything", "pattern": "x*"}],
     "redact[0] (regex anything).pattern: the pattern matches an empty text"),
    ([{"detector": "regex", "pattern": "EMP-\\d{5}"}], "redact[0]: a regex rule needs a name"),
    ([{"detector": "regex", "name": "employee_id"}], "redact[0] (regex employee_id): a regex rule needs a pattern"),
    ([{"detector": "regex", "name": "Employee ID", "pattern": "x"}], "redact[0] (regex Employee ID).name: 'Employee ID' is not a name"),
    ([{"detector": "regex", "name": "email", "pattern": "x"}], "redact[0] (regex email).name: 'email' is a built-in"),
    ([{"detector": "email", "pattern": "x"}], "redact[0] (email): pattern is only read by regex rules, not email"),
    ([{"detector": "ip", "region": "FR"}], "redact[0] (ip): region is only read by phone rules, not ip"),
    ([{"detector": "phone", "region": "XX"}], "redact[0] (phone).region: 'XX' is not a region phonenumbers knows"),
    ([{"detector": "email", "colour": "red"}], "redact[0] (email).colour: unknown field"),
    (["email", {"detector": "email", "mode": "hash"}], "redact[1] (email).detector: 'email' is already redact[0]"),
    ([{"detector": "regex", "name": "a", "pattern": "x"}, {"detector": "regex", "name": "a", "pattern": "y"}],
     "redact[1] (regex a).name: 'a' is already redact[0]"),
    ([42], "redact[0]: a rule is a mapping such as {detector: email, mode: mask}, not a int"),
    ("email", "redact[0]: give a list of rules"),
])
def test_a_bad_rule_is_one_line_naming_it(rules: object, expected: str):
    with pytest.raises(RuleError) as caught:
        Redactor(rules)  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith(expected), message
    assert "\n" not in message
    assert isinstance(caught.value, RedactionError) and isinstance(caught.value, ValueError)


def test_hash_rules_need_a_salt_of_16_bytes_or_more():
    with pytest.raises(RedactionError, match=r"^redact\[1\] \(regex employee_id\): mode hash needs a salt"):
        Redactor(["email", {"detector": "regex", "name": "employee_id", "pattern": "EMP-1", "mode": "hash"}])
    with pytest.raises(RedactionError, match=r"^the redaction salt has 5 bytes: give at least 16"):
        Redactor([{"detector": "email", "mode": "hash"}], salt="short")
    assert Redactor(["email"]).redact_text("a@b.co").value == "<EMAIL>"   # masks need none


def test_the_salt_comes_from_the_named_environment_variable():
    assert salt_from_env("MY_SALT", {"MY_SALT": "s" * 20}) == "s" * 20
    assert salt_from_env("MY_SALT", {"MY_SALT": ""}) is None
    assert salt_from_env("MY_SALT", {}) is None


def test_a_redactor_without_rules_changes_nothing_and_a_bad_time_limit_is_refused():
    assert Redactor([]).redact_text("bob@example.com").value == "bob@example.com"
    with pytest.raises(RedactionError, match="regex_timeout_ms must be above 0"):
        Redactor(["email"], regex_timeout_ms=0)
