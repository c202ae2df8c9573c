"""The config's privacy section: the issue's shape, one-line errors with their line, the salt,
retention, and redaction rules in the config version."""

from __future__ import annotations

import pytest

from phospho_stream.config import ConfigError, parse_config

PRIVACY = """\
privacy:
  redact:
    - {detector: email, mode: mask}
    - {detector: credit_card, mode: drop}
    - {detector: regex, pattern: "EMP-\\\\d{5}", mode: hash, name: employee_id}
  salt_env: SHOP_REDACTION_SALT
  retention: {raw_text_days: 30, aggregates_days: 365}
"""
SALT = {"SHOP_REDACTION_SALT": "a test salt of more than sixteen bytes"}


def test_the_issue_s_shape_loads_into_rules_a_salt_variable_and_retention():
    privacy = parse_config(PRIVACY).privacy
    assert [(r.detector, r.mode, r.key) for r in privacy.redact] == [
        ("email", "mask", "email"), ("credit_card", "drop", "credit_card"), ("regex", "hash", "employee_id")]
    assert privacy.redact[2].pattern == r"EMP-\d{5}"
    assert privacy.salt_env == "SHOP_REDACTION_SALT"
    assert (privacy.retention.raw_text_days, privacy.retention.aggregates_days) == (30, 365)
    redactor = privacy.redactor(SALT)
    assert redactor is not None
    result = redactor.redact_text("EMP-12345 wrote from bob@example.com")
    assert result.value.startswith("<EMPLOYEE_ID:") and result.value.endswith(" wrote from <EMAIL>")


def test_no_privacy_section_means_no_redactor_and_retention_for_ever():
    privacy = parse_config("").privacy
    assert privacy.redact == () and privacy.redactor({}) is None
    assert privacy.retention.raw_text_days is None and privacy.retention.aggregates_days is None
    assert privacy.salt_env == "PHOSPHO_REDACTION_SALT"


@pytest.mark.parametrize(("text", "expected"), [
    ("privacy:\n  redact:\n    - {detector: email}\n    - {detector: email, mode: hash}\n",
     "config.yaml:4: privacy.redact[1].detector: 'email' is already redact[0]"),
    ("privacy:\n  redact:\n    - {detector: regex, pattern: 'ab)c', name: x}\n",
     "config.yaml:3: privacy.redact[0].pattern: not a valid regular expression: unbalanced parenthesis"),
    ("privacy:\n  redact:\n    - {detector: regex, pattern: abc}\n",
     "config.yaml:3: privacy.redact[0]: a regex rule needs a name"),
    ("privacy:\n  redact:\n    - {detector: telephone}\n",
     "config.yaml:3: privacy.redact[0].detector: Input should be 'email', 'phone'"),
    ("privacy:\n  redact:\n    - {detector: ip, mode: blur}\n",
     "config.yaml:3: privacy.redact[0].mode: Input should be 'mask', 'hash' or 'drop'"),
    ("privacy:\n  redact:\n    - {detector: phone, region: XX}\n",
     "config.yaml:3: privacy.redact[0].region: 'XX' is not a region phonenumbers knows"),
    ("privacy:\n  redact:\n    - detector: email\n      pattern: x\n",
     "config.yaml:3: privacy.redact[0]: pattern is only read by regex rules, not email"),
    ("privacy:\n  retention: {raw_text_days: 30, aggregates_days: 7}\n",
     "config.yaml:2: privacy.retention: aggregates_days (7) is shorter than raw_text_days (30 days)"),
    ("privacy:\n  retention: {aggregates_days: 7}\n",
     "config.yaml:2: privacy.retention: aggregates_days (7) is shorter than raw_text_days (for ever)"),
    ("privacy:\n  retention: {raw_text_days: 0}\n",
     "config.yaml:2: privacy.retention.raw_text_days: Input should be greater than or equal to 1"),
    ("privacy:\n  salt_env: 'MY SALT'\n", "config.yaml:2: privacy.salt_env: 'MY SALT' is not an environment variable name"),
    ("privacy:\n  salt: hunter2\n", "config.yaml:2: privacy.salt: unknown field"),
])
def test_a_bad_privacy_section_is_one_line_naming_line_and_field(text: str, expected: str):
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "config.yaml")
    message = str(caught.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_a_hash_rule_without_its_salt_or_with_a_short_one_is_one_line_naming_the_variable():
    privacy = parse_config(PRIVACY).privacy
    with pytest.raises(ConfigError, match=r"^privacy.redact\[2\] \(regex employee_id\): mode hash needs a "
                                          r"salt: set \$SHOP_REDACTION_SALT to a random secret"):
        privacy.redactor({})
    with pytest.raises(ConfigError, match=r"^privacy.salt_env: \$SHOP_REDACTION_SALT: the redaction salt has 5 bytes"):
        privacy.redactor({"SHOP_REDACTION_SALT": "short"})
    masks_only = parse_config("privacy:\n  redact: [{detector: email}, {detector: phone, region: FR}]\n").privacy
    assert masks_only.redactor({}) is not None


def test_the_rules_are_in_the_config_version_in_their_order_and_retention_is_not():
    base = parse_config(PRIVACY)
    assert base.config_version != parse_config("").config_version
    assert parse_config(PRIVACY.replace("mode: drop", "mode: mask")).config_version != base.config_version
    assert parse_config(PRIVACY.replace("EMP-", "EMPL-")).config_version != base.config_version
    swapped = PRIVACY.replace("    - {detector: email, mode: mask}\n    - {detector: credit_card, mode: drop}\n",
                              "    - {detector: credit_card, mode: drop}\n    - {detector: email, mode: mask}\n")
    assert parse_config(swapped).config_version != base.config_version
    assert parse_config(PRIVACY.replace("aggregates_days: 365", "aggregates_days: 400")).config_version \
        == base.config_version
    assert parse_config("privacy:\n  retention: {raw_text_days: 30}\n").config_version == parse_config("").config_version
