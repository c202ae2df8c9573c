"""Keyword events: exact matches and the near misses that must not match."""

from __future__ import annotations

import pytest

from phospho_stream.config import ProjectConfig
from phospho_stream.rules.analytics import KeywordMatcher, TaskText, analyze


def detected(keywords: str, text: str, scope: str = "task_input_only") -> bool:
    config = ProjectConfig.model_validate({"events": [
        {"event_name": "hit", "keywords": keywords, "detection_scope": scope}]})
    analysis = analyze(TaskText("t", text, "ok"), [], config)
    assert analysis.errors == ()
    return analysis.event_names == ("hit",)


@pytest.mark.parametrize(("keywords", "text"), [
    ("refund", "Can I get a refund?"),
    ("refund", "refund"),
    ("refund", "REFUND NOW"),
    ("refund", "Refund!"),
    ("refund", "(refund)"),
    ("refund", '"refund"'),
    ("refund", "«refund»"),
    ("refund", "the refund's status"),
    ("refund", "a refund - now"),
    ("refund", "refund;\nthanks"),
    ("refund, money back", "I want my Money Back."),
    ("e-mail", "send me an E-Mail please"),
    ("mail", "check your mail."),
    ("straße", "DIE STRASSE IST GESPERRT"),
    ("café", "un cafe\u0301 s'il vous plaît"),
    ("Rückerstattung", "ich möchte eine rückerstattung"),
    ("退款", "我想要退款"),
    ("返金", "返金してください"),
    ("возврат", "Хочу возврат денег"),
    ("c++", "I code in C++."),
    ("get a", "can I get a new one"),
])
def test_keyword_is_found_as_whole_words_whatever_the_case_and_punctuation(keywords: str, text: str):
    assert detected(keywords, text)


@pytest.mark.parametrize(("keywords", "text"), [
    ("refund", "I want refunds"),
    ("refund", "non-refundable"),
    ("refund", "a refund-related question"),
    ("refund", "x_refund"),
    ("refund", "réfund"),
    ("refund", "refund2"),
    ("mail", "send me an e-mail"),
    ("mail", "a mail-order catalogue"),
    ("mail", "gmail is down"),
    ("cancel", "cancellation fees"),
    ("money back", "moneyback"),
    ("возврат", "возвратить"),
    ("user, assistant", "hello there"),
])
def test_near_misses_do_not_match(keywords: str, text: str):
    assert not detected(keywords, text)


def test_role_names_are_not_searched_in_task_and_session_scopes():
    assert not detected("user, assistant", "what is my balance", scope="task")
    assert not detected("user, assistant", "what is my balance", scope="session")


def test_a_matcher_reports_each_tag_once_with_its_first_keyword_found():
    matcher = KeywordMatcher([("refund", "money"), ("money back", "money"), ("angry", "mood")])
    assert matcher.find("Angry! I want my money back, a refund now") == {"mood": "angry", "money": "money back"}
    assert matcher.find("") == {}
    assert KeywordMatcher([]).find("anything") == {}


def test_a_keyword_event_is_a_confidence_detection_with_its_keyword():
    config = ProjectConfig.model_validate({"events": [
        {"event_name": "refund request", "keywords": "refund, money back", "detection_scope": "task"}]})
    (detection,) = analyze(TaskText("t", "Refund please", "Sure"), [], config).events
    assert (detection.event_name, detection.score, detection.score_type, detection.source,
            detection.detection_scope, detection.match) == (
        "refund request", 1.0, "confidence", "keyword", "task", "refund")
