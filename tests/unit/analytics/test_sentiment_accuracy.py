"""Sentiment: sign accuracy on clear English user messages, phospho's labels, other languages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from phospho_stream.config import ProjectConfig
from phospho_stream.rules.analytics import TaskText, analyze, analyze_sentiment, sentiment_label

CORPUS = yaml.safe_load((Path(__file__).parent / "corpus/sentiment.yaml").read_text(encoding="utf-8"))


def test_sentiment_sign_is_right_for_90_percent_or_more_of_clear_english_texts():
    clear = [(text, 1) for text in CORPUS["positive"]] + [(text, -1) for text in CORPUS["negative"]]
    assert len(clear) >= 60
    right = sum(1 for text, sign in clear if (analyze_sentiment(text, "en").score or 0) * sign > 0)
    assert right / len(clear) >= 0.90, right / len(clear)


def test_plain_requests_are_neutral_and_praise_with_complaints_is_mixed():
    assert [analyze_sentiment(t, "en").label for t in CORPUS["neutral"]] == ["neutral"] * len(CORPUS["neutral"])
    mixed = [analyze_sentiment(t, "en") for t in CORPUS["mixed"]]
    assert [s.label for s in mixed] == ["mixed"] * len(mixed)
    assert all(s.magnitude >= 0.6 and abs(s.score) <= 0.3 for s in mixed)


@pytest.mark.parametrize(("score", "magnitude", "label"), [
    (0.31, 0.31, "positive"), (-0.31, 0.31, "negative"), (0.3, 5.0, "mixed"), (-0.3, 0.59, "neutral"),
    (0.0, 0.6, "mixed"), (0.0, 0.0, "neutral"),
])
def test_labels_follow_phosphos_thresholds(score: float, magnitude: float, label: str):
    assert sentiment_label(score, magnitude) == label


def test_scores_are_bounded_and_magnitude_adds_up_the_sentences():
    one = analyze_sentiment("This is great.", "en")
    two = analyze_sentiment("This is great. This is great.", "en")
    assert -1 <= one.score <= 1 and one.method == "vader"
    assert two.score == one.score and two.magnitude == pytest.approx(2 * one.magnitude)


@pytest.mark.parametrize(("text", "language"), [
    ("Ce service est vraiment nul, je suis furieux.", "fr"),
    ("この回答はとても役に立ちました。ありがとう！", "ja"),
    ("Das ist großartig, vielen Dank!", "de"),
])
def test_text_in_another_language_is_not_scored_and_says_why(text: str, language: str):
    analysis = analyze(TaskText("t", text), [], ProjectConfig())
    assert analysis.language == language
    assert analysis.sentiment_method == "unsupported_language"
    assert (analysis.sentiment_score, analysis.sentiment_magnitude, analysis.sentiment_label) == (None,) * 3


def test_the_configs_thresholds_decide_the_label():
    text = "The answer was okay I guess, thanks."
    default = analyze(TaskText("t", text), [], ProjectConfig())
    strict = analyze(TaskText("t", text), [], ProjectConfig.model_validate(
        {"analytics": {"sentiment_threshold": {"score": 0.9, "magnitude": 5}}}))
    assert default.sentiment_label == "positive"
    assert strict.sentiment_label == "neutral"
    assert strict.sentiment_score == default.sentiment_score


def test_empty_input_has_no_sentiment_and_switches_turn_steps_off():
    assert analyze(TaskText("t", "  "), [], ProjectConfig()).sentiment_method == "no_text"
    off = analyze(TaskText("t", "I love it"), [], ProjectConfig.model_validate(
        {"analytics": {"sentiment": False, "language": False}}))
    assert (off.language, off.sentiment_label, off.sentiment_method) == (None, None, None)
