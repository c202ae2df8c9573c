"""Detection scopes: current task for input/output-only, chronological history for session."""

from __future__ import annotations

from phospho_stream.config import ProjectConfig
from phospho_stream.rules.analytics import PreparedTask, ScopeTexts, TaskText, analyze


def events_for(scope: str, task: TaskText, history: list[TaskText], keep: int = 10) -> tuple[str, ...]:
    config = ProjectConfig.model_validate({
        "events": [{"event_name": "refund", "keywords": "refund", "detection_scope": scope}],
        "analytics": {"session_history": keep}})
    return analyze(task, history, config).event_names


def test_task_scope_reads_input_then_output_on_separate_lines():
    texts = ScopeTexts(PreparedTask("question", "answer", "be nice"), lambda: [])
    assert texts.text("task") == "question\nanswer"
    assert texts.text("task_input_only") == "question"
    assert texts.text("task_output_only") == "answer"
    assert texts.text("system_prompt") == "be nice"


def test_session_scope_is_chronological_with_one_line_per_message():
    earlier = [PreparedTask("first", "one", ""), PreparedTask("second", "", "")]
    texts = ScopeTexts(PreparedTask("third", "three", ""), lambda: earlier)
    assert texts.text("session") == "first\none\nsecond\nthird\nthree"


def test_history_is_sorted_by_time_keeps_same_time_tasks_and_drops_later_ones():
    history = [TaskText("later", "zz refund", created_at_ms=300),
               TaskText("t1", "a refund", created_at_ms=100),
               TaskText("same-ms", "b", created_at_ms=200)]
    current = TaskText("t2", "hello", created_at_ms=200)
    assert events_for("session", current, history) == ("refund",)
    assert events_for("session", current, [history[0]]) == ()
    assert events_for("session", current, history, keep=1) == ()


def test_input_and_output_only_scopes_never_read_the_history():
    history = [TaskText("t1", "refund please", "refund done", created_at_ms=1)]
    current = TaskText("t2", "thanks", "you are welcome", created_at_ms=2)
    assert events_for("task_input_only", current, history) == ()
    assert events_for("task_output_only", current, history) == ()
    assert events_for("session", current, history) == ("refund",)


def test_the_current_task_in_its_own_history_is_not_read_twice():
    current = TaskText("t1", "refund", created_at_ms=5)
    assert events_for("session", current, [current]) == ("refund",)


def test_system_prompt_scope_without_a_prompt_detects_nothing_and_is_no_error():
    config = ProjectConfig.model_validate({"events": [
        {"event_name": "mail", "regex_pattern": r"\S+@\S+", "detection_scope": "system_prompt"}]})
    assert analyze(TaskText("t", "a@b.c"), [], config).events == ()
    assert analyze(TaskText("t", "hi", system_prompt="mail ops@x.io"), [], config).event_names == ("mail",)
    assert analyze(TaskText("t", "a@b.c"), [], config).errors == ()
