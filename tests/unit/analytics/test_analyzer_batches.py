"""The Analyzer's batch path gives what analyze() gives task by task: steps run over a batch,
earlier tasks prepared once (EarlierTask), failing steps reported in the same order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from phospho_stream.config import ProjectConfig
from phospho_stream.rules.analytics import Analyzer, ScopeTexts, TaskText, analyze

CONFIG = ProjectConfig.model_validate({
    "events": [{"event_name": "refund", "keywords": "refund, money back", "detection_scope": "session"},
               {"event_name": "order", "regex_pattern": r"\b[A-Z]{2}-\d{6}\b", "detection_scope": "task"},
               {"event_name": "sorry", "keywords": "sorry, désolé", "detection_scope": "task_output_only"}],
    "pricing": {"house-model": {"input": 1.0, "output": 2.0}}})

TASKS = [
    TaskText("t1", "I want my money back for AB-123456", "Sorry about that.", None, "gpt-4o",
             {"prompt_tokens": 100, "completion_tokens": 20}, (), 1_000),
    TaskText("t2", "Merci, tout fonctionne maintenant.", "Désolé du retard !", "be nice", "house-model",
             {"input_tokens": 10, "output_tokens": 5}, (), 2_000),
    TaskText("t3", "This is wonderful, thanks!", {"answer": ["great", "news"]}, None, None, None,
             ({"model": "gpt-4o-mini", "input_tokens": 50, "output_tokens": 10},), 3_000),
    TaskText("t4", b"\xff\xfe binary \x00 input", None, None, "unknown-model",
             {"prompt_tokens": "12", "completion_tokens": 3}, (), 4_000),
    TaskText("t5", "", "", None, None, None, (), 5_000),
]


def test_a_batch_started_at_once_ends_as_each_task_analysed_alone():
    analyzer = Analyzer(CONFIG)
    started = analyzer.start(TASKS)
    for i, one in enumerate(started):
        assert analyzer.finish(one, TASKS[:i]) == analyze(TASKS[i], TASKS[:i], CONFIG)


def test_earlier_tasks_prepared_once_give_the_same_session_events():
    analyzer = Analyzer(CONFIG)
    earlier = [analyzer.earlier(task) for task in TASKS]
    for i, task in enumerate(TASKS):
        assert analyzer.analyze(task, earlier[:i] + earlier[i + 1:]) == analyze(task, TASKS, CONFIG)
    assert "refund" in analyzer.analyze(TASKS[2], earlier[:2]).event_names


def test_failing_steps_are_reported_in_step_order():
    class BrokenSpan(Mapping):
        def __getitem__(self, key: str) -> object:
            raise RuntimeError("unreadable span")

        def __iter__(self) -> Iterator[str]:
            return iter(["model"])

        def __len__(self) -> int:
            return 1

    config = ProjectConfig.model_validate({
        "events": [{"event_name": "runaway", "regex_pattern": "(a+)+$", "detection_scope": "task_input_only"}],
        "analytics": {"regex_timeout_ms": 5}})
    broken = TaskText("t9", "a" * 1500 + "b", None, None, "gpt-4o", None, (BrokenSpan(),), 9_000)
    analyzer = Analyzer(config)
    result = analyzer.finish(analyzer.start([broken])[0])
    assert [(e.step, e.event_name) for e in result.errors] == [("event", "runaway"), ("cost", None)]
    assert result.cost_usd is None and result.events == ()


WORDS = ["refund", "Refund-", "-refund", "e-mail", "mail", "STRASSE", "straße", "money back", "money\nback",
         "退款", "re\u0301fund", "café", "cafe\u0301", "x", " ", "\n", "!", "-", "_refund", "refunds"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from(WORDS), max_size=6), st.lists(st.sampled_from(WORDS), max_size=6)),
                min_size=1, max_size=5))
def test_session_keywords_found_text_by_text_are_those_of_the_session_text(session):
    config = ProjectConfig.model_validate({"events": [
        {"event_name": "refund", "keywords": "refund, money back, 退款", "detection_scope": "session"},
        {"event_name": "mail", "keywords": "mail, straße, café", "detection_scope": "session"}]})
    analyzer = Analyzer(config)
    tasks = [TaskText(f"t{i}", "".join(inp), "".join(out), created_at_ms=i) for i, (inp, out) in enumerate(session)]
    current = tasks[-1]
    earlier = [analyzer.earlier(task) for task in tasks[:-1]]
    whole_text = analyzer.detector.detect(ScopeTexts(analyzer.earlier(current).texts, lambda: [e.texts for e in earlier]))
    assert analyzer.analyze(current, earlier).events == tuple(whole_text[0])
