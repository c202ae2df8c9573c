"""The project config: what loads, what is refused (one line naming file, line and field), its version."""

from __future__ import annotations

from pathlib import Path

import pytest
import regex

from phospho_stream.config import (
    CONFIG_ENV,
    ConfigError,
    ProjectConfig,
    config_path_from_env,
    load_config,
    parse_config,
)
from phospho_stream.errors import PhosphoStreamError

DEMO = Path(__file__).parents[3] / "stream_processors/phospho_stream/config/examples/demo.yaml"

BASE = """\
events:
  - event_name: refund request
    description: The user asks for their money back
    keywords: refund, money back
  - event_name: order number
    regex_pattern: '\\b[A-Z]{2}-\\d{6}\\b'
    detection_scope: task_input_only
    webhook: https://hooks.example.com/orders
pricing:
  My-Model: {input: 0.5, output: 1.5}
"""


def test_the_demo_config_loads_with_its_events_compiled():
    config = load_config(DEMO)
    engines = {event.event_name: event.detection_engine for event in config.events}
    assert engines["refund request"] == "keyword_detection"
    assert engines["order number"] == "regex_detection"
    assert all(isinstance(e.pattern, regex.Pattern) for e in config.events if e.regex_pattern)
    assert "demo-local-model" in config.pricing


def test_engine_is_inferred_and_keywords_are_split_and_stripped():
    config = parse_config(BASE)
    refund, order = config.events
    assert refund.detection_engine == "keyword_detection"
    assert refund.keyword_list == ("refund", "money back")
    assert order.detection_engine == "regex_detection"
    assert order.pattern.search("order AB-123456") is not None
    assert config.pricing == {"my-model": config.pricing["my-model"]}


def test_an_empty_file_is_the_default_config():
    assert parse_config("") == ProjectConfig()
    assert parse_config("# nothing yet\n").events == ()


def test_a_keyword_list_and_phospho_bookkeeping_fields_are_accepted():
    config = parse_config("""\
events:
  - event_name: refund
    id: 6f1c
    org_id: org
    project_id: p
    event_version_id: 3
    recipe_type: event_detection
    keywords: [refund, money back]
    removed: true
""")
    assert config.events[0].keyword_list == ("refund", "money back")
    assert config.active_events == ()


def test_llm_detection_is_refused_without_an_llm_section_and_accepted_with_one():
    event = "events:\n  - event_name: rude\n    description: The assistant is rude\n"
    with pytest.raises(ConfigError, match=r"^config.yaml:2: events\[0\].detection_engine: llm_detection "
                                          r"needs an `llm:` section"):
        parse_config(event, "config.yaml")
    config = parse_config(event + "llm:\n  base_url: http://localhost:11434/v1\n  model: llama3\n")
    assert config.events[0].detection_engine == "llm_detection"
    assert config.llm is not None and config.llm.max_concurrency >= 1


@pytest.mark.parametrize(("text", "expected"), [
    ("events:\n  - event_name: a\n    keywords: x\n  - event_name: b\n    regex_pattern: 'ab)c'\n",
     "config.yaml:5: events[1].regex_pattern: unbalanced parenthesis at position 2"),
    ("events:\n  - event_name: a\n    keywords: 'refund,,x'\n",
     "config.yaml:3: events[0].keywords: keyword 2 of 3 is empty"),
    ("events:\n  - event_name: a\n    keywords: 'refund,'\n",
     "config.yaml:3: events[0].keywords: keyword 2 of 2 is empty"),
    ("events:\n  - event_name: a\n    keywords: x\n  - event_name: a\n    keywords: y\n",
     "config.yaml:4: events[1].event_name: 'a' is already events[0]"),
    ("events:\n  - event_name: a\n    regex_pattern: 'x*'\n",
     "config.yaml:3: events[0].regex_pattern: the pattern matches an empty text"),
    ("events:\n  - event_name: a\n    detection_engine: regex_detection\n    regex_pattern: ''\n",
     "config.yaml:2: events[0]: regex_detection needs a non-empty regex_pattern"),
    ("events:\n  - event_name: a\n    keywords: x\n    detection_scope: everything\n",
     "config.yaml:4: events[0].detection_scope: Input should be 'task', 'session'"),
    ("events:\n  - keywords: x\n", "config.yaml:2: events[0].event_name: required field missing"),
    ("privacy:\n  redact: true\n", "config.yaml:2: privacy.redact: Input should be a valid tuple"),
    ("analytics:\n  max_chars: 5\n", "config.yaml:2: analytics.max_chars: Input should be greater"),
    ("analytics:\n  language: true\n  language: false\n", "config.yaml:3: 'language' appears twice"),
    ("events: [\n", "config.yaml:2: not valid YAML"),
    ("- a\n- b\n", "config.yaml:1: the config is a mapping of sections"),
    ("pricing:\n  gpt-4o:\n    input: -1\n    output: 2\n",
     "config.yaml:3: pricing.gpt-4o.input: Input should be greater than or equal to 0"),
    ("events:\n  - event_name: a\n    keywords: x\n    score_range_settings:\n      score_type: category\n"
     "      categories: [only]\n",
     "config.yaml:4: events[0].score_range_settings: score_type category needs at least 2 categories"),
    ("events:\n  - event_name: a\n    keywords: x\n    webhook: ftp://x\n",
     "config.yaml:4: events[0].webhook: 'ftp://x' is not an http(s) URL"),
    ("evaluation:\n  enabled: true\n", "config.yaml:1: evaluation: evaluation needs an `llm:` section"),
    ("llm:\n  model: m\n  api_key_env: sk-abc123\n",
     "config.yaml:3: llm.api_key_env: 'sk-abc123' is not an environment variable's name"),
    ("llm:\n  model: m\n  context_tasks: -1\n", "config.yaml:3: llm.context_tasks: Input should be greater"),
    ("llm:\n  model: m\nevaluation:\n  few_shot: 200\n", "config.yaml:4: evaluation.few_shot: Input should be less"),
])
def test_a_bad_config_is_one_line_naming_line_and_field(text: str, expected: str):
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "config.yaml")
    message = str(caught.value)
    assert message.startswith(expected), message
    assert "\n" not in message
    assert isinstance(caught.value, PhosphoStreamError)


def test_score_range_defaults_follow_phospho_per_score_type():
    config = parse_config("""\
llm: {model: m}
events:
  - event_name: quality
    description: How good the answer is
    score_range_settings: {score_type: range}
  - event_name: topic
    description: What the user asks about
    score_range_settings: {score_type: category, categories: 'billing, shipping, , other'}
""")
    quality, topic = (event.score_range_settings for event in config.events)
    assert (quality.min, quality.max) == (1.0, 5.0)
    assert topic.categories == ("billing", "shipping", "other")
    assert (topic.min, topic.max) == (1.0, 3.0)


def test_config_version_changes_with_what_changes_rows_only():
    base = parse_config(BASE)
    assert base.config_version == parse_config(BASE).config_version
    assert len(base.config_version) == 12
    reordered = parse_config("""\
events:
  - event_name: order number
    regex_pattern: '\\b[A-Z]{2}-\\d{6}\\b'
    detection_scope: task_input_only
  - event_name: refund request
    description: The user asks for their money back
    keywords: refund, money back
pricing:
  my-model: {output: 1.5, input: 0.5}
""")
    assert reordered.events[0].event_name == "order number"
    assert reordered.config_version == base.config_version
    other_hook = parse_config(BASE.replace("hooks.example.com/orders", "hooks.example.com/v2"))
    assert other_hook.config_version == base.config_version
    for change in (BASE.replace("money back", "chargeback"), BASE.replace("input: 0.5", "input: 0.6"),
                   BASE + "analytics:\n  max_chars: 500\n"):
        assert parse_config(change).config_version != base.config_version


def test_load_config_names_a_missing_file_in_one_line(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"^.*nope.yaml: no such config file$"):
        load_config(tmp_path / "nope.yaml")
    path = tmp_path / "project.yaml"
    path.write_text("analytics:\n  sentiment: nope\n")
    with pytest.raises(ConfigError, match=r"project.yaml:2: analytics.sentiment: Input should be a valid boolean"):
        load_config(path)


def test_the_config_path_comes_from_the_argument_then_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert config_path_from_env(None) is None
    monkeypatch.setenv(CONFIG_ENV, "/etc/phospho.yaml")
    assert config_path_from_env(None) == Path("/etc/phospho.yaml")
    assert config_path_from_env("mine.yaml") == Path("mine.yaml")


def test_llm_and_evaluation_sections_take_their_bounds_and_name_the_llm_events():
    config = parse_config("""\
llm: {base_url: http://localhost:11434/v1, model: llama3.1, context_tasks: 4, max_chars: 1000, cache_entries: 0}
evaluation: {few_shot: 4, guidelines: Refunds need an order number.}
events:
  - event_name: escalation
    description: The user asks for a human.
  - event_name: refund
    keywords: refund
""")
    assert (config.llm.context_tasks, config.llm.max_chars, config.llm.cache_entries) == (4, 1000, 0)
    assert config.evaluation.guidelines == "Refunds need an order number."
    assert [e.event_name for e in config.llm_events] == ["escalation"]  # inferred llm_detection
