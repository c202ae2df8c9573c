"""The cost in USD of a task's model calls: the config's prices first, then genai-prices.

genai-prices' table is the one bundled in its wheel (its updater, which fetches, is never
started; prices.py reads it). A task whose spans carry token usage is priced from them (they are its model calls);
otherwise from the task's own model and usage. A call that cannot be priced makes the cost None
with the reason (never a silent 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ...config import ModelPrice
from .prices import find_model, price_of
from .usage import TokenUsage, token_usage

__all__ = ["Cost", "task_cost", "call_cost"]

_PER_MILLION = 1_000_000


@dataclass(frozen=True, slots=True)
class Cost:
    """`usd` None means not known; `note` says why, or what was priced."""

    usd: float | None
    note: str | None = None


def task_cost(model: str | None, usage: Mapping[str, Any] | None,
              span_usages: Sequence[Mapping[str, Any]], pricing: Mapping[str, ModelPrice],
              created_at_ms: int = 0) -> Cost:
    """The task's cost: the sum over its spans' calls when they carry usage, else its own call."""
    at = _when(created_at_ms)
    calls = [(span.get("model"), span.get("provider"), tokens) for span in span_usages
             if isinstance(span, Mapping) and (tokens := token_usage(span)) is not None]
    if calls:
        total = 0.0
        for call_model, provider, tokens in calls:
            cost = call_cost(call_model, provider, tokens, pricing, at)
            if cost.usd is None:
                return Cost(None, f"span call: {cost.note}")
            total += cost.usd
        return Cost(total, f"{len(calls)} span call{'s' if len(calls) > 1 else ''}")
    tokens = token_usage(usage)
    if tokens is None:
        return Cost(None, "no token usage logged")
    return call_cost(model, None, tokens, pricing, at)


def call_cost(model: Any, provider: Any, tokens: TokenUsage, pricing: Mapping[str, ModelPrice],
              at: datetime | None = None) -> Cost:
    """One call's cost from its model (e.g. 'gpt-4o', 'openai/gpt-4o', 'azure:gpt-4o')."""
    if not isinstance(model, str) or not model.strip():
        return Cost(None, "no model logged")
    name = model.strip()
    prefix, rest = _split_provider(name)
    for key in (name.lower(), rest.lower()):
        if key in pricing:
            return Cost(_override(pricing[key], tokens), "config pricing")
    provider_id = provider if isinstance(provider, str) and provider else prefix
    attempts: list[tuple[str, str | None]] = [] if prefix else [(name, None)]
    if provider_id:
        attempts.insert(0, (rest, provider_id))
    attempts.append((rest, None))
    found = find_model(list(dict.fromkeys(attempts)))
    if found is None:
        return Cost(None, f"unknown model {name!r}: give its price under `pricing:` in the config")
    try:
        return Cost(price_of(found, tokens, at), f"genai-prices {found.label}")
    except (ValueError, ArithmeticError) as exc:
        return Cost(None, f"cannot price {name!r}: {exc}")


def _when(created_at_ms: int) -> datetime | None:
    """The task's time, for the prices of that day; None (now) when unknown or out of range."""
    try:
        return datetime.fromtimestamp(created_at_ms / 1000, UTC) if created_at_ms > 0 else None
    except (OverflowError, ValueError, OSError):
        return None


def _split_provider(model: str) -> tuple[str | None, str]:
    """'azure:gpt-4o' or 'openai/gpt-4o' -> (provider, model); 'gpt-4o' -> (None, 'gpt-4o')."""
    for sep in (":", "/"):
        head, found, tail = model.partition(sep)
        if found and head and tail:
            return head, tail
    return None, model


def _override(price: ModelPrice, tokens: TokenUsage) -> float:
    cached_price = price.cached_input if price.cached_input is not None else price.input
    fresh_input = tokens.input_tokens - tokens.cached_input_tokens
    return (fresh_input * price.input + tokens.cached_input_tokens * cached_price
            + tokens.output_tokens * price.output) / _PER_MILLION
