"""Each detector: what it finds (international phones, cards, IBANs, IPs, each secret format,
custom patterns), what it normalises before hashing, and how overlaps are settled."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from stdnum import iban as stdnum_iban
from stdnum import luhn

from phospho.redaction import HASH_HEX_CHARS, Redactor, default_rules

SALT = "a test salt of more than sixteen bytes"
ALL = Redactor(default_rules())


def _only(text: str, redactor: Redactor = ALL) -> dict[str, int]:
    return dict(redactor.redact_text(text).counts)


@pytest.mark.parametrize("number", [
    "+33 6 12 34 56 78", "+33 (0)6 12 34 56 78", "+49 1512 3456789", "+49 30 901820", "+44 7400 123456",
    "+44 20 7946 0958", "+1 201-555-0123", "+1 (415) 555-2671", "+81 90-1234-5678", "+55 11 96123-4567",
    "+91 81234 56789", "+34 612 34 56 78", "+39 312 345 6789", "+86 131 2345 6789", "+234 802 123 4567",
    "+61 412 345 678", "+7 912 345-67-89", "+971 50 123 4567", "+353 85 123 4567", "+33612345678",
    "0033 6 12 34 56 78", "+33.6.12.34.56.78",
])
def test_international_phone_numbers_are_found_in_any_common_format(number: str):
    assert phonenumbers.is_valid_number(phonenumbers.parse(number.replace("0033", "+33", 1), None))
    result = ALL.redact_text(f"call me on {number}, thanks")
    assert result.value == "call me on <PHONE>, thanks"


def test_national_formats_need_the_rule_s_region_and_its_trunk_prefix_or_separators():
    french = Redactor([{"detector": "phone", "region": "fr"}])
    american = Redactor([{"detector": "phone", "region": "US"}])
    assert _only("appelle-moi au 06 12 34 56 78", french) == {"phone": 1}
    assert _only("appelle-moi au 0612345678", french) == {"phone": 1}
    assert _only("appelle-moi au 06 12 34 56 78") == {}
    assert _only("call (415) 555-2671 or 415.555.2671", american) == {"phone": 2}
    for text in ("order 4155552671", "on 2024-01-15 and 15/01/2024", "from 192.168.1.10", "id 1234567890"):
        assert _only(text, american) == {}, text
    assert _only("le 2024-01-15 10 h", Redactor([{"detector": "phone", "region": "DE"}])) == {}


def test_a_phone_number_followed_by_other_figures_is_still_found():
    assert ALL.redact_text("+33 6 12 34 56 78 1 2 3 4 5").value == "<PHONE> 1 2 3 4 5"
    assert ALL.redact_text("call +1 415 555 2671 24/7").value == "call <PHONE> 24/7"
    assert ALL.redact_text("+44 7400 123456 / +49 1512 3456789").value == "<PHONE> / <PHONE>"


def test_hashes_are_taken_of_normalised_values_so_one_person_is_one_token():
    redactor = Redactor([{"detector": "phone", "mode": "hash"}, {"detector": "email", "mode": "hash"},
                         {"detector": "credit_card", "mode": "hash"}, {"detector": "iban", "mode": "hash"}],
                        salt=SALT)
    tokens = {text: redactor.redact_text(text).value for text in (
        "+33 6 12 34 56 78", "+33612345678", "0033 6 12 34 56 78", "+33 (0)6 12 34 56 78",
        "Jane.Doe@Example.com", "jane.doe@example.com", "jane.doe@example.org",
        "4111 1111 1111 1111", "4111-1111-1111-1111", "DE89 3704 0044 0532 0130 00", "de89370400440532013000")}
    assert len({tokens[t] for t in ("+33 6 12 34 56 78", "+33612345678", "0033 6 12 34 56 78",
                                     "+33 (0)6 12 34 56 78")}) == 1
    assert tokens["Jane.Doe@Example.com"] == tokens["jane.doe@example.com"] != tokens["jane.doe@example.org"]
    assert tokens["4111 1111 1111 1111"] == tokens["4111-1111-1111-1111"]
    assert tokens["DE89 3704 0044 0532 0130 00"] == tokens["de89370400440532013000"]
    assert all(re.fullmatch(rf"<[A-Z_]+:[0-9a-f]{{{HASH_HEX_CHARS}}}>", token) for token in tokens.values())


def test_the_same_salt_gives_the_same_token_anywhere_and_another_salt_another():
    rules = [{"detector": "email", "mode": "hash"}]
    first = Redactor(rules, salt=SALT).redact_text("bob@example.com").value
    assert Redactor(rules, salt=SALT.encode()).redact_text("bob@example.com").value == first
    assert Redactor(rules, salt=SALT + "!").redact_text("bob@example.com").value != first


@pytest.mark.parametrize("card", [
    "4111 1111 1111 1111", "4012888888881881", "5555-5555-5555-4444", "2223 0031 2200 3222",
    "3782 822463 10005", "371449635398431", "6011 1111 1111 1117", "3530 1113 3330 0000",
    "3056 930902 5904", "6200 0000 0000 0005", "6759 6498 2643 8453",
])
def test_card_numbers_of_every_major_network_are_found(card: str):
    assert luhn.is_valid(re.sub(r"\D", "", card))
    assert ALL.redact_text(f"card: {card}.").value == "card: <CREDIT_CARD>."


@pytest.mark.parametrize("text", [
    "4111 1111 1111 1112",            # Luhn fails
    "1234 5678 9012 3456",            # no issuer starts with 1
    "4111 11111 111 1111",            # not a card's grouping
    "9400 1000 0000 0000 0000 00",    # a 22-digit tracking number, no card inside it
    "1733300000000",                  # a millisecond timestamp
    "978-3-16-148410-0",              # an ISBN
])
def test_numbers_that_are_not_cards_are_left(text: str):
    assert _only(f"number {text} here") == {}


def test_a_card_followed_by_its_expiry_or_cvv_is_found():
    assert ALL.redact_text("4111 1111 1111 1111 12/27").value == "<CREDIT_CARD> 12/27"
    assert ALL.redact_text("4111 1111 1111 1111 123").value == "<CREDIT_CARD> 123"
    assert ALL.redact_text("卡号4111111111111111谢谢").value == "卡号<CREDIT_CARD>谢谢"


@pytest.mark.parametrize("account", [
    "DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32", "FR14 2004 1010 0505 0001 3M02 606",
    "ES91 2100 0418 4502 0005 1332", "IT60 X054 2811 1010 0000 0123 456", "NL91 ABNA 0417 1643 00",
    "BE71 0961 2345 6769", "CH93 0076 2011 6238 5295 7", "PL61 1090 1014 0000 0712 1981 2874",
    "SE45 5000 0000 0583 9825 7466", "NO93 8601 1117 947", "AT61 1904 3002 3457 3201",
    "PT50 0002 0123 1234 5678 9015 4", "SA03 8000 0000 6080 1016 7519", "AE07 0331 2345 6789 0123 456",
    "GB82WEST12345698765432", "de89370400440532013000",
])
def test_ibans_of_many_countries_are_found_spaced_compact_or_lower_case(account: str):
    assert stdnum_iban.is_valid(account)
    assert ALL.redact_text(f"IBAN {account}, thanks").value == "IBAN <IBAN>, thanks"


def test_an_iban_with_a_wrong_check_is_left_and_one_followed_by_figures_is_cut_right():
    assert _only("IBAN DE88 3704 0044 0532 0130 00") == {}
    assert ALL.redact_text("BE71 0961 2345 6769 1234 and FR14 2004 1010 0505 0001 3M02 606").value \
        == "<IBAN> 1234 and <IBAN>"


@pytest.mark.parametrize(("text", "expected"), [
    ("host 192.168.1.10 is down", "host <IP> is down"),
    ("at 10.0.0.1:8080.", "at <IP>:8080."),
    ("IP地址是192.168.0.1吗", "IP地址是<IP>吗"),
    ("2001:db8:85a3::8a2e:370:7334", "<IP>"),
    ("[2001:0db8:0000:0000:0000:ff00:0042:8329]:443", "[<IP>]:443"),
    ("fe80::1ff:fe23:4567:890a%eth0", "<IP>%eth0"),
])
def test_ip_addresses_v4_and_v6(text: str, expected: str):
    assert ALL.redact_text(text).value == expected


@pytest.mark.parametrize("text", [
    "version 1.2.3.4", "v1.2.3.4", "release 2.10.3.1", "upgrade to 1.2.3.4", "256.1.1.1", "01.02.03.04",
    "1.2.3", "1.2.3.4.5", "::1", "a::b", "std::vector", "12:30:45", "00:1A:2B:3C:4D:5E",
])
def test_version_strings_and_invalid_addresses_are_not_ips(text: str):
    assert _only(text) == {}


@pytest.mark.parametrize(("text", "kept"), [
    ("sk-proj-4fJ9aQ2xZ7LmN3pR8sT1uV6wY0bC5dE2gH4jK7mP", ""),
    ("sk-3kL9mN2pQ7rS4tU8vW1xY6zA0bC5dE9fG2hJ4kL7mN3pQ8rS", ""),
    ("sk-ant-api03-Xy7_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-AbCdEfGh", ""),
    ("AKIAIOSFODNN7EXAMPLE", ""),
    ("ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R", ""),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV0123", ""),
    ("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", ""),
    ("xoxp-123456789012-123456789012-123456789012-abcdef0123456789abcdef0123456789", ""),
    ("AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", ""),
    ("sk_live_51H8xYzAbCdEfGhIjKlMnOpQr", ""),
    ("rk_test_51H8xYzAbCdEfGhIjKlMnOp", ""),
    ("whsec_AbCdEfGhIjKlMnOpQrStUvWxYz012345", ""),
    ("hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567", ""),
    ("glpat-AbCdEfGh1234567890_x", ""),
    ("npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", ""),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", ""),
    ("Authorization: Bearer ya29.a0AfH6SMBx3kL9mN2pQ7rS4tU8vW1xY6z", "Authorization: Bearer "),
    ("password = 'Summer2024!'", "password = '"),
    ("API_KEY: 9f8e7d6c5b4a39281706", "API_KEY: "),
    ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oVAFcb8aAzW0oAoGCCqGSM49\n"
     "-----END EC PRIVATE KEY-----", ""),
])
def test_each_secret_format_is_found_and_only_the_secret_is_replaced(text: str, kept: str):
    result = ALL.redact_text(text)
    assert result.value.startswith(kept + "<SECRET>"), result.value
    assert result.counts == {"secret": 1}


def test_a_custom_pattern_is_masked_under_its_name_and_hashed_with_the_salt():
    redactor = Redactor([{"detector": "regex", "pattern": r"EMP-\d{5}", "mode": "mask", "name": "employee_id"},
                         {"detector": "regex", "pattern": r"(?i)\bproject [a-z]+\b", "mode": "hash",
                          "name": "codename"}], salt=SALT)
    result = redactor.redact_text("EMP-12345 and EMP-67890 work on Project Falcon")
    assert result.value.startswith("<EMPLOYEE_ID> and <EMPLOYEE_ID> work on <CODENAME:")
    assert result.counts == {"employee_id": 2, "codename": 1}


def test_a_runaway_custom_pattern_drops_the_field_with_an_error_instead_of_hanging():
    redactor = Redactor([{"detector": "regex", "pattern": r"(a|aa)+$", "name": "runaway"}], regex_timeout_ms=5)
    result = redactor.redact_text("a" * 5000 + "b")
    assert result.value == "" and result.dropped
    assert len(result.errors) == 1 and "runaway" in result.errors[0] and "\n" not in result.errors[0]


def test_overlaps_go_to_the_longest_match_then_to_the_earlier_rule():
    contact_first = Redactor([{"detector": "regex", "pattern": r"[a-z]+@example\.com", "name": "contact"},
                              {"detector": "email"}])
    email_first = Redactor([{"detector": "email"},
                            {"detector": "regex", "pattern": r"[a-z]+@example\.com", "name": "contact"}])
    assert contact_first.redact_text("bob@example.com").value == "<CONTACT>"
    assert email_first.redact_text("bob@example.com").value == "<EMAIL>"
    longer = Redactor([{"detector": "regex", "pattern": r"example", "name": "word"}, {"detector": "email"}])
    assert longer.redact_text("write to bob@example.com").value == "write to <EMAIL>"
    # an IBAN holds digit groups that could pass for a phone number: the longer IBAN wins
    assert Redactor([{"detector": "phone", "region": "DE"}, {"detector": "iban"}]).redact_text(
        "DE89 3704 0044 0532 0130 00").value == "<IBAN>"


def test_tokens_already_in_a_text_are_left_as_they_are_whatever_redactor_wrote_them():
    sdk_side = Redactor([{"detector": "regex", "pattern": r"EMP-\d{5}", "name": "employee_id", "mode": "hash"}],
                        salt=SALT)
    core_side = Redactor([{"detector": "regex", "pattern": r"<?[A-Z_]+(:[0-9a-f]+)?>?", "name": "caps"},
                          *default_rules()])
    once = sdk_side.redact_text("EMP-12345 wrote")
    assert core_side.redact_text(once.value).value == once.value
    assert core_side.redact_text("mask <EMAIL> and <b>").value == "mask <EMAIL> and <b>"
    assert ALL.redact_text("<AKIAIOSFODNN7EXAMPLE>").value == "<<SECRET>>"   # brackets are no token


@pytest.mark.parametrize("text, expected", [
    ("contact 'ana.souza@example.com' now", "contact '<EMAIL>' now"),
    ("{'email': 'bob@example.org'}", "{'email': '<EMAIL>'}"),
    ("o'brien@example.com wrote", "<EMAIL> wrote"),
])
def test_an_address_in_single_quotes_is_found_and_an_apostrophe_inside_one_kept(text: str, expected: str):
    assert Redactor(["email"]).redact_text(text).value == expected
