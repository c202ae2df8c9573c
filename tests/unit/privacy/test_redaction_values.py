"""JSON-like values and flat maps: string leaves redacted, keys kept, drop's reach, counts summed."""

from __future__ import annotations

from phospho.redaction import Redactor

MASK = Redactor(["email", "phone", "credit_card"])
DROP_CARDS = Redactor(["email", {"detector": "credit_card", "mode": "drop"}])


def test_every_string_leaf_is_redacted_and_keys_are_left_alone():
    value = {"bob@example.com": ["write to bob@example.com", {"tel": "+44 7400 123456"}],
             "n": 3, "ok": True, "ratio": 0.5, "none": None, "pair": ("a@b.co", "x")}
    result = MASK.redact_value(value)
    assert result.value == {"bob@example.com": ["write to <EMAIL>", {"tel": "<PHONE>"}],
                            "n": 3, "ok": True, "ratio": 0.5, "none": None, "pair": ("<EMAIL>", "x")}
    assert result.counts == {"email": 2, "phone": 1}
    assert not result.dropped and result.errors == ()


def test_an_unchanged_value_is_returned_as_it_was_not_copied():
    value = {"messages": [{"role": "user", "content": "hello"}]}
    assert MASK.redact_value(value).value is value
    assert MASK.redact_value("hello").value == "hello"


def test_long_integers_that_are_card_numbers_are_replaced_short_ones_kept():
    result = MASK.redact_value({"card": 4111111111111111, "order": 123456, "id": 1234567890123456})
    assert result.value == {"card": "<CREDIT_CARD>", "order": 123456, "id": 1234567890123456}


def test_drop_empties_the_whole_value_and_in_a_map_only_the_entry_it_fired_in():
    messages = [{"role": "user", "content": "my card is 4111 1111 1111 1111"}, {"role": "user", "content": "hi"}]
    result = DROP_CARDS.redact_value(messages)
    assert result.value == [] and result.dropped and result.counts == {"credit_card": 1}
    assert DROP_CARDS.redact_value({"a": "4111 1111 1111 1111"}).value == {}
    assert DROP_CARDS.redact_text("card 4111 1111 1111 1111, mail a@b.co").value == ""
    metadata = DROP_CARDS.redact_map({"note": "card 4111 1111 1111 1111", "contact": "a@b.co", "n": 7,
                                      "tags": ["4111 1111 1111 1111"]})
    assert metadata.value == {"note": "", "contact": "<EMAIL>", "n": 7, "tags": []}
    assert metadata.counts == {"credit_card": 2, "email": 1} and metadata.dropped


def test_a_value_nested_too_deep_is_dropped_not_searched_partly():
    deep: object = "bob@example.com"
    for _ in range(100):
        deep = [deep]
    result = MASK.redact_value({"deep": deep})
    assert result.value == {} and result.dropped
    assert result.errors and "nested deeper" in result.errors[0]


def test_map_errors_and_counts_are_summed_over_its_entries():
    runaway = Redactor([{"detector": "regex", "pattern": r"(a|aa)+$", "name": "runaway"}, "email"],
                       regex_timeout_ms=5)
    result = runaway.redact_map({"slow": "a" * 5000 + "b", "mail": "x@y.co and z@y.co"})
    assert result.value == {"slow": "", "mail": "<EMAIL> and <EMAIL>"}
    assert result.counts == {"email": 2} and len(result.errors) == 1 and result.dropped
