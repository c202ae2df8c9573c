"""Cost: genai-prices' bundled table, the config's prices first, spans, unknown models."""

from __future__ import annotations

from datetime import UTC, datetime

import genai_prices
import pytest

from phospho_stream.config import ModelPrice, ProjectConfig
from phospho_stream.rules.analytics import TaskText, analyze, task_cost, token_usage

OWN = {"demo-local-model": ModelPrice(input=1.0, output=2.0, cached_input=0.5)}


def test_a_known_model_is_priced_from_genai_prices_with_cached_input_cheaper():
    plain = task_cost("gpt-4o", {"prompt_tokens": 1000, "completion_tokens": 500}, [], {})
    cached = task_cost("gpt-4o", {"prompt_tokens": 1000, "completion_tokens": 500,
                                  "prompt_tokens_details": {"cached_tokens": 800}}, [], {})
    assert plain.usd == pytest.approx(1000 * 2.5e-6 + 500 * 10e-6)
    assert 0 < cached.usd < plain.usd
    assert plain.note == "genai-prices openai/gpt-4o"


@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "azure:gpt-4o-mini", "GPT-4o-mini"])
def test_provider_prefixed_model_names_are_found(model: str):
    assert task_cost(model, {"prompt_tokens": 10, "completion_tokens": 5}, [], {}).usd > 0


def test_the_configs_price_comes_first_and_prices_cached_input_apart():
    cost = task_cost("Demo-Local-Model", {"input_tokens": 1_000_000, "output_tokens": 1_000_000,
                                          "cached_tokens": 400_000}, [], OWN)
    assert cost.usd == pytest.approx(0.6 * 1.0 + 0.4 * 0.5 + 2.0)
    assert cost.note == "config pricing"
    overridden = task_cost("gpt-4o", {"prompt_tokens": 1_000_000}, [], {"gpt-4o": ModelPrice(input=1, output=1)})
    assert overridden.usd == pytest.approx(1.0)


@pytest.mark.parametrize(("model", "usage", "reason"), [
    ("llama3-local", {"prompt_tokens": 10}, "unknown model 'llama3-local'"),
    (None, {"prompt_tokens": 10}, "no model logged"),
    ("gpt-4o", None, "no token usage logged"),
    ("gpt-4o", {"total": "n/a"}, "no token usage logged"),
])
def test_what_cannot_be_priced_is_none_with_a_reason_never_zero(model, usage, reason):
    cost = task_cost(model, usage, [], {})
    assert cost.usd is None and reason in cost.note


def test_spans_with_usage_are_the_calls_priced_and_one_unknown_makes_the_sum_unknown():
    spans = [{"model": "gpt-4o-mini", "input_tokens": 100, "output_tokens": 50},
             {"model": "claude-3-5-sonnet-20241022", "provider": "anthropic", "input_tokens": "100",
              "output_tokens": 50}]
    both = task_cost("gpt-4o", {"prompt_tokens": 10**9}, spans, {})
    alone = [task_cost(s["model"], s, [], {}).usd for s in spans]
    assert both.usd == pytest.approx(sum(alone)) and both.note == "2 span calls"
    unknown = task_cost("gpt-4o", None, [*spans, {"model": "mystery", "input_tokens": 1}], {})
    assert unknown.usd is None and "mystery" in unknown.note


def test_usage_shapes_of_openai_anthropic_gemini_and_opentelemetry_are_read():
    assert token_usage({"prompt_tokens": 100, "completion_tokens": 40,
                        "completion_tokens_details": {"reasoning_tokens": 30}}).reasoning_tokens == 30
    anthropic = token_usage({"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100,
                             "cache_creation_input_tokens": 20})
    assert (anthropic.input_tokens, anthropic.cached_input_tokens, anthropic.cache_write_tokens) == (130, 100, 20)
    gemini = token_usage({"prompt_token_count": 10, "candidates_token_count": 5, "thoughts_token_count": 7})
    assert (gemini.output_tokens, gemini.reasoning_tokens) == (12, 7)
    otel = token_usage({"gen_ai.usage.input_tokens": "12", "gen_ai.usage.output_tokens": "3"})
    assert (otel.input_tokens, otel.output_tokens) == (12, 3)
    assert token_usage({"prompt_tokens": -5, "completion_tokens": True}) is None
    assert token_usage("not a mapping") is None  # type: ignore[arg-type]


def test_cost_is_priced_at_the_tasks_time_and_the_same_on_replay():
    task = TaskText("t", "hi", model="gpt-4o-mini", usage={"prompt_tokens": 1000, "completion_tokens": 10},
                    created_at_ms=1_733_300_000_000)
    first, again = (analyze(task, [], ProjectConfig()) for _ in range(2))
    assert first.cost_usd == again.cost_usd > 0
    assert first.errors == ()


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4o-mini", "o3-mini", "claude-3-5-sonnet-20241022",
                                   "gemini-2.5-pro", "mistral-large-latest"])
@pytest.mark.parametrize("usage", [
    {"prompt_tokens": 1234, "completion_tokens": 567},
    {"prompt_tokens": 250_000, "completion_tokens": 9_000, "prompt_tokens_details": {"cached_tokens": 120_000},
     "completion_tokens_details": {"reasoning_tokens": 4_000}},
    {"input_tokens": 180_000, "output_tokens": 100, "cache_read_input_tokens": 50_000,
     "cache_creation_input_tokens": 3_000},
])
def test_prices_equal_genai_prices_own_answer_tiered_models_included(model: str, usage: dict):
    at = datetime(2025, 6, 1, tzinfo=UTC)
    tokens = token_usage(usage)
    expected = genai_prices.calc_price(genai_prices.Usage(
        input_tokens=tokens.input_tokens, output_tokens=tokens.output_tokens,
        cache_read_tokens=tokens.cached_input_tokens or None, cache_write_tokens=tokens.cache_write_tokens or None,
        output_reasoning_tokens=tokens.reasoning_tokens or None), model, genai_request_timestamp=at).total_price
    for _ in range(2):  # the first call reads the model's prices, the second uses them
        cost = task_cost(model, usage, [], {}, int(at.timestamp() * 1000))
        assert cost.usd == pytest.approx(float(expected), rel=1e-9)
