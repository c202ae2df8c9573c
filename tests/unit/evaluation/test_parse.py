"""Reading the model's answers strictly: verdicts, and LLM events of each score type (P(event)
for confidence, whole words and whole numbers, category 0 as absent, ranges of any bounds)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phospho_stream.config import ScoreRangeSettings
from phospho_stream.rules.evaluation import (
    EventScore,
    Unparseable,
    Verdict,
    parse_event,
    parse_verdict,
)

CONFIDENCE = ScoreRangeSettings()
RANGE = ScoreRangeSettings(score_type="range")  # 1..5
WIDE = ScoreRangeSettings(score_type="range", min=0, max=10)
CATEGORY = ScoreRangeSettings(score_type="category", categories=("billing", "shipping", "other"))
LN = math.log


@pytest.mark.parametrize(("answer", "verdict"), [
    ("success", Verdict("success", "")),
    ("failure\nThe order number it gave does not exist.", Verdict("failure", "The order number it gave does not exist.")),
    ("Success. The answer is right.", Verdict("success", "The answer is right.")),
    ("**Failure**: it refused without a reason", Verdict("failure", "it refused without a reason")),
    ("Verdict: failure - wrong order number", Verdict("failure", "wrong order number")),
    ("**Verdict:** success\nReason: it answered.", Verdict("success", "it answered.")),
    ("  FAILURE\n\n- off-topic", Verdict("failure", "off-topic")),
])
def test_a_verdict_is_the_first_word_and_the_reason_follows(answer, verdict):
    assert parse_verdict(answer) == verdict


@pytest.mark.parametrize("answer", ["", "   ", "The answer is a success", "successful", "not a failure",
                                    "success/failure", "I cannot judge this.", "yes"])
def test_anything_but_a_leading_success_or_failure_is_unparseable(answer):
    with pytest.raises(Unparseable):
        parse_verdict(answer)


def test_a_reason_is_cut_to_a_bounded_length():
    assert len(parse_verdict("failure\n" + "long " * 500).reason) == 300


def test_confidence_is_p_yes_over_the_first_tokens_alternatives_whatever_the_winner():
    top = [("No", LN(0.7)), (" no", LN(0.1)), ("Yes", LN(0.15)), ("YES.", LN(0.05))]
    score = parse_event(CONFIDENCE, "No", top)
    assert not score.detected and score.label == "no"
    assert score.score == pytest.approx(0.2)  # P(event), not the 0.8 of the winning answer
    assert parse_event(CONFIDENCE, "Yes", [("Yes", LN(0.9)), ("No", LN(0.1))]).score == pytest.approx(0.9)


def test_confidence_tokens_are_whole_words():
    top = [("Not", LN(0.6)), ("Yes", LN(0.3)), ("Nope", LN(0.1))]  # "not" and "nope" are not "no"
    assert parse_event(CONFIDENCE, "Not", top) == EventScore(True, 1.0, "yes")


def test_confidence_without_logprobs_reads_the_first_whole_word():
    assert parse_event(CONFIDENCE, "Yes.") == EventScore(True, 1.0, "yes")
    assert parse_event(CONFIDENCE, "no, nothing like it") == EventScore(False, 0.0, "no")
    for answer in ("Not sure", "I don't know", "nobody asked", ""):
        with pytest.raises(Unparseable):
            parse_event(CONFIDENCE, answer)


def test_a_range_is_the_whole_number_answered_and_its_expected_value_over_single_digits():
    assert parse_event(RANGE, "4") == EventScore(True, 4.0, "4")
    top = [("4", LN(0.6)), ("5", LN(0.3)), ("3", LN(0.1)), ("Four", LN(0.01))]
    assert parse_event(RANGE, "4", top).score == pytest.approx(4.2, abs=0.01)
    assert parse_event(RANGE, "**4**/5").label == "4"


def test_a_range_reads_ten_as_ten_and_refuses_what_is_out_of_range_or_not_whole():
    assert parse_event(WIDE, "10", [("1", LN(0.9)), ("10", LN(0.1))]) == EventScore(True, 10.0, "10")
    for answer in ("10", "0", "4.5", "four", "about 3"):
        with pytest.raises(Unparseable):
            parse_event(RANGE, answer)


def test_a_category_is_its_number_and_zero_means_absent():
    assert parse_event(CATEGORY, "2") == EventScore(True, 2.0, "shipping")
    assert parse_event(CATEGORY, "0") == EventScore(False, 0.0, None)
    assert parse_event(CATEGORY, "Billing") == EventScore(True, 1.0, "billing")
    assert parse_event(CATEGORY, "none") == EventScore(False, 0.0, None)
    for answer in ("4", "-1", "1.5", "billing or shipping"):
        with pytest.raises(Unparseable):
            parse_event(CATEGORY, answer)


@given(st.text(max_size=200), st.lists(st.tuples(st.text(max_size=8), st.floats(-50, 0)), max_size=5))
def test_parsing_any_answer_gives_a_result_or_unparseable_never_another_error(text, top):
    for settings in (CONFIDENCE, RANGE, WIDE, CATEGORY):
        try:
            parse_event(settings, text, top)
        except Unparseable:
            pass
    try:
        parse_verdict(text)
    except Unparseable:
        pass
