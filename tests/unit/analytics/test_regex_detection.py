"""Regex events: Python `re` syntax, case-sensitive unless asked, and bounded in time."""

from __future__ import annotations

import pytest

from phospho_stream.config import ProjectConfig
from phospho_stream.rules.analytics import TaskText, analyze

ORDER = r"\b[A-Z]{2}-\d{6}\b"


def config_of(*events: dict, timeout_ms: float = 20) -> ProjectConfig:
    return ProjectConfig.model_validate({"events": list(events),
                                         "analytics": {"regex_timeout_ms": timeout_ms}})


def found(pattern: str, text: str, scope: str = "task_input_only") -> bool:
    config = config_of({"event_name": "hit", "regex_pattern": pattern, "detection_scope": scope})
    analysis = analyze(TaskText("t", text, "Your order ships tomorrow."), [], config)
    assert analysis.errors == ()
    return analysis.event_names == ("hit",)


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    (ORDER, "Where is order AB-123456?", True),
    (ORDER, "where is order ab-123456?", False),
    (ORDER, "order AB-1234567", False),
    (ORDER, "order XAB-123456", False),
    (r"(?i)refund\?$", "can I get a REFUND?", True),
    (r"(?i)refund\?$", "refund? no thanks", False),
    (r"^Can\b", "Can I pay later?", True),
    (r"^Can\b", "I Can pay later", False),
    (r"\bcolou?r\b", "which colour fits?", True),
    (r"\p{Han}{2}", "我想要退款", True),
    (r"[\w.+-]+@[\w-]+\.\w+", "write to jane.doe+x@example.org", True),
    (r"[\w.+-]+@[\w-]+\.\w+", "write to jane at example dot org", False),
])
def test_regex_matches_exactly_as_written(pattern: str, text: str, expected: bool):
    assert found(pattern, text) is expected


def test_anchors_see_the_text_itself_not_a_role_prefix():
    assert found(r"^Thanks", "Thanks, that works", scope="task")
    assert found(r"ships tomorrow\.$", "Thanks", scope="task")
    assert not found(r"^user:", "user: hi", scope="task_output_only")


def test_a_regex_detection_keeps_the_matched_text():
    config = config_of({"event_name": "order number", "regex_pattern": ORDER, "detection_scope": "task"})
    (detection,) = analyze(TaskText("t", "order AB-123456 is late"), [], config).events
    assert (detection.source, detection.score, detection.score_type, detection.match) == (
        "regex", 1.0, "confidence", "AB-123456")


def test_a_runaway_pattern_is_cut_at_the_time_limit_and_costs_only_its_own_event():
    config = config_of(
        {"event_name": "catastrophic", "regex_pattern": r"(a+)+$", "detection_scope": "task_input_only"},
        {"event_name": "refund", "keywords": "refund", "detection_scope": "task_input_only"},
        {"event_name": "order", "regex_pattern": ORDER, "detection_scope": "task_input_only"},
        timeout_ms=20)
    text = "refund for AB-123456 " + "a" * 1500 + "b"  # within analytics.max_chars (2000)
    analysis = analyze(TaskText("t", text), [], config)
    assert analysis.event_names == ("refund", "order")
    (error,) = analysis.errors
    assert (error.step, error.event_name) == ("event", "catastrophic")
    assert "gave up after 20 ms" in error.message
