"""analyze() on bad input: empty, huge, binary, structured outputs, unknown models; never raises."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phospho_stream.config import ProjectConfig
from phospho_stream.rules.analytics import Analysis, TaskText, analyze, clean_text

CONFIG = ProjectConfig.model_validate({"events": [
    {"event_name": "refund", "keywords": "refund, money back", "detection_scope": "task"},
    {"event_name": "order", "regex_pattern": r"\b[A-Z]{2}-\d{6}\b", "detection_scope": "session"},
    {"event_name": "mail", "regex_pattern": r"\S+@\S+", "detection_scope": "system_prompt"},
    {"event_name": "sorry", "keywords": "sorry", "detection_scope": "task_output_only"},
]})


def test_empty_and_whitespace_text_give_empty_results_without_errors():
    for text in ("", "   \n\t ", None):
        analysis = analyze(TaskText("t", text, text), [], CONFIG)
        assert (analysis.language, analysis.events, analysis.errors) == ("", (), ())
        assert analysis.sentiment_method == "no_text"


def test_a_megabyte_of_text_is_cut_to_max_chars_and_the_result_says_so():
    huge = "refund " + "lorem ipsum dolor sit amet " * 40_000
    analysis = analyze(TaskText("t", huge, huge, huge), [], CONFIG)
    assert analysis.truncated == ("input", "output", "system_prompt")
    assert analysis.event_names == ("refund",)
    text, cut = clean_text(huge, 2000)
    assert cut and len(text) <= 2000 and not text.endswith("lor")


def test_a_cut_never_leaves_a_word_prefix_that_a_keyword_would_match():
    text = "x " * 996 + "refunds"  # the cut at 2000 falls inside "refunds"
    assert analyze(TaskText("t", text), [], CONFIG).events == ()


def test_invalid_utf8_and_binary_are_read_with_replacement_characters():
    surrogates = b"refund \xff\xfe order AB-123456".decode("utf-8", "surrogateescape")
    analysis = analyze(TaskText("t", surrogates, bytes(range(256)), b"\x00ops@x.io"), [], CONFIG)
    assert analysis.event_names == ("refund", "order", "mail")
    assert analysis.errors == ()
    text, _ = clean_text("a\ud800b\x00c", 100)
    assert text == "a\ufffdb c"


def test_dict_and_list_outputs_are_read_through_their_string_leaves():
    output = {"choices": [{"message": {"role": "assistant", "content": "Sorry, no money back"}}], "id": 3}
    analysis = analyze(TaskText("t", "hi", json.dumps(output)), [], CONFIG)
    assert analysis.event_names == ("refund", "sorry")
    as_object = analyze(TaskText("t", ["Can I get", {"q": "a refund?"}], output), [], CONFIG)
    assert as_object.event_names == ("refund", "sorry")
    assert clean_text('{"key": "value", "n": [1, "two"]}', 100) == ("value\ntwo", False)
    assert clean_text("[not json", 100) == ("[not json", False)


def test_unknown_models_and_odd_usage_give_no_cost_and_no_error():
    analysis = analyze(TaskText("t", "hello", model="my-finetune", usage={"prompt_tokens": "12"},
                                span_usages=[{"weird": object()}]), [], CONFIG)
    assert analysis.cost_usd is None and "my-finetune" in analysis.cost_note
    assert analysis.errors == ()


def test_history_of_odd_values_is_read_or_skipped_without_error():
    history = [TaskText("a", b"order AB-123456", created_at_ms=1),
               TaskText("b", {"x": 1}, created_at_ms="yesterday"),  # type: ignore[arg-type]
               "not a task"]  # type: ignore[list-item]
    analysis = analyze(TaskText("t", "hi", created_at_ms=5), history, CONFIG)
    assert analysis.event_names == ("order",) and analysis.errors == ()


texts = st.one_of(
    st.none(), st.text(alphabet=st.characters(codec=None, exclude_categories=())), st.binary(),
    st.recursive(st.text() | st.integers() | st.none(),
                 lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
                 max_leaves=12),
)
usages = st.one_of(st.none(), st.dictionaries(st.sampled_from(
    ["prompt_tokens", "completion_tokens", "input_tokens", "cached_tokens", "prompt_tokens_details"]),
    st.one_of(st.integers(), st.floats(), st.text(max_size=4), st.dictionaries(st.text(max_size=8), st.integers()))))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inp=texts, out=texts, system=texts, model=st.one_of(st.none(), st.text(max_size=20), st.just("gpt-4o")),
       usage=usages, created=st.one_of(st.integers(), st.none()))
def test_analyze_never_raises_whatever_it_is_given(inp, out, system, model, usage, created):
    task = TaskText("t", inp, out, system, model, usage, created_at_ms=created)  # type: ignore[arg-type]
    analysis = analyze(task, [task, TaskText("h", out, inp, created_at_ms=0)], CONFIG)
    assert isinstance(analysis, Analysis)
    assert analysis.language is not None
    assert analysis.sentiment_score is None or -1 <= analysis.sentiment_score <= 1
    assert analysis.sentiment_magnitude is None or analysis.sentiment_magnitude >= 0
    assert analysis.cost_usd is None or analysis.cost_usd >= 0
    assert analysis.errors == ()
