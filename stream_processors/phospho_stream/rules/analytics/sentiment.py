"""The sentiment of a text: score -1..1, magnitude >= 0 and phospho's label, with VADER.

VADER (a lexicon and rules tuned on social-media English) scores each sentence: the score is
the mean of the sentences that carry sentiment, the magnitude the sum of every sentence's
strength (Google's definitions, which phospho's thresholds were set for). VADER reads English
only: a text in another language gets no score and the method `unsupported_language`, so that
averages over sessions and users are not pulled toward 0 by texts nobody scored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

__all__ = ["Sentiment", "analyze_sentiment", "sentiment_label", "VADER", "UNSUPPORTED_LANGUAGE",
           "NO_TEXT", "SCORED_LANGUAGES"]

VADER = "vader"
UNSUPPORTED_LANGUAGE = "unsupported_language"
NO_TEXT = "no_text"
#: languages VADER is given: English, and '' (too short to tell: VADER still reads emoji and slang)
SCORED_LANGUAGES = frozenset({"en", ""})

_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+|\s*\n\s*")


@dataclass(frozen=True, slots=True)
class Sentiment:
    """score -1..1, magnitude >= 0 and label (None when not scored), and how they were made."""

    score: float | None
    magnitude: float | None
    label: str | None
    method: str


def sentiment_label(score: float, magnitude: float, score_threshold: float = 0.3,
                    magnitude_threshold: float = 0.6) -> str:
    """phospho's rule: positive above t, negative below -t, else neutral or (strong) mixed."""
    if score > score_threshold:
        return "positive"
    if score < -score_threshold:
        return "negative"
    return "neutral" if magnitude < magnitude_threshold else "mixed"


def analyze_sentiment(text: str, language: str, score_threshold: float = 0.3,
                      magnitude_threshold: float = 0.6) -> Sentiment:
    """The sentiment of `text`, whose language (detect_language's answer) is `language`."""
    if not text.strip():
        return Sentiment(None, None, None, NO_TEXT)
    if language not in SCORED_LANGUAGES:
        return Sentiment(None, None, None, UNSUPPORTED_LANGUAGE)
    polarity = _analyzer().polarity_scores
    compounds = [polarity(sentence)["compound"] for sentence in _SENTENCE_BREAK.split(text)
                 if sentence]
    felt = [c for c in compounds if c]
    score = round(sum(felt) / len(felt), 4) if felt else 0.0
    magnitude = round(sum((abs(c) for c in felt), 0.0), 4)
    return Sentiment(score, magnitude,
                     sentiment_label(score, magnitude, score_threshold, magnitude_threshold), VADER)


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    """VADER's analyser, its lexicon read from the package once per process."""
    return SentimentIntensityAnalyzer()
