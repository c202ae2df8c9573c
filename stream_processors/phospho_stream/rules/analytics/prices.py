"""genai-prices' bundled table, asked once per model and day instead of once per call.

genai-prices takes ~50 µs a call (it decomposes the usage into priced units). For a model whose
price that day is linear in each kind of token (most are), its per-token prices are read from
genai-prices itself (a million tokens of one kind at a time) and checked against it on probe
usages; every later call is a sum of products. A model whose price is not linear there (tiers
by prompt size, e.g. Gemini 2.5 Pro) is asked every call. Which model name genai-prices knows,
and under which provider, is found once too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import genai_prices

from .usage import TokenUsage

__all__ = ["PricedModel", "find_model", "price_of"]

_MILLION = 1_000_000
#: usages on which the per-token prices must give genai-prices' own answer
_PROBES = (TokenUsage(1000, 500, 200, 50, 100), TokenUsage(300_000, 20_000, 100_000, 0, 5_000),
           TokenUsage(5, 1, 0, 0, 0), TokenUsage(150_000, 64_000, 0, 30_000, 60_000))
_KEPT = 4096

_found: dict[tuple[str, str | None], PricedModel | None] = {}
_linear: dict[tuple[str, str | None, date], _PerToken | None] = {}


@dataclass(frozen=True, slots=True)
class PricedModel:
    """A model genai-prices knows: how to ask for it, and what it is called there."""

    model_ref: str
    provider_id: str | None
    label: str


@dataclass(frozen=True, slots=True)
class _PerToken:
    per_call: float
    input: float
    cached_input: float
    cache_write: float
    output: float
    reasoning: float

    def price(self, t: TokenUsage) -> float:
        return (self.per_call + (t.input_tokens - t.cached_input_tokens - t.cache_write_tokens) * self.input
                + t.cached_input_tokens * self.cached_input + t.cache_write_tokens * self.cache_write
                + (t.output_tokens - t.reasoning_tokens) * self.output + t.reasoning_tokens * self.reasoning)


def find_model(attempts: list[tuple[str, str | None]]) -> PricedModel | None:
    """The first (model_ref, provider_id) genai-prices knows, or None."""
    for model_ref, provider_id in attempts:
        cached = _found.get((model_ref, provider_id), False)
        if cached is not False:
            if cached is not None:
                return cached
            continue
        try:
            calc = genai_prices.calc_price(genai_prices.Usage(input_tokens=1), model_ref, provider_id=provider_id)
        except LookupError:
            _remember(_found, (model_ref, provider_id), None)
            continue
        found = PricedModel(model_ref, provider_id, f"{calc.provider.id}/{calc.model.id}")
        _remember(_found, (model_ref, provider_id), found)
        return found
    return None


def price_of(model: PricedModel, tokens: TokenUsage, at: datetime | None) -> float:
    """USD for `tokens` on `model` at `at` (None: now), as genai-prices' table says."""
    day = (at or datetime.now(UTC)).date()
    key = (model.model_ref, model.provider_id, day)
    if key not in _linear:
        _remember(_linear, key, _per_token(model, datetime.combine(day, time(12), UTC)))
    per_token = _linear[key]
    if per_token is not None:
        return per_token.price(tokens)
    return _exact(model, tokens, at)


def _exact(model: PricedModel, t: TokenUsage, at: datetime | None) -> float:
    usage = genai_prices.Usage(input_tokens=t.input_tokens, output_tokens=t.output_tokens,
                               cache_read_tokens=t.cached_input_tokens or None,
                               cache_write_tokens=t.cache_write_tokens or None,
                               output_reasoning_tokens=t.reasoning_tokens or None)
    return float(genai_prices.calc_price(usage, model.model_ref, provider_id=model.provider_id,
                                         genai_request_timestamp=at).total_price)


def _per_token(model: PricedModel, at: datetime) -> _PerToken | None:
    """Per-token prices read from genai-prices, if they reproduce it on every probe."""
    try:
        base = _exact(model, TokenUsage(), at)
        one = lambda **kinds: (_exact(model, TokenUsage(**kinds), at) - base) / _MILLION  # noqa: E731
        m = _MILLION
        per_token = _PerToken(base, one(input_tokens=m), one(input_tokens=m, cached_input_tokens=m),
                              one(input_tokens=m, cache_write_tokens=m), one(output_tokens=m),
                              one(output_tokens=m, reasoning_tokens=m))
        for probe in _PROBES:
            if not math.isclose(per_token.price(probe), _exact(model, probe, at), rel_tol=1e-9, abs_tol=1e-12):
                return None
    except (ValueError, ArithmeticError, LookupError):
        return None
    return per_token


def _remember(cache: dict, key: object, value: object) -> None:  # type: ignore[type-arg]
    if len(cache) >= _KEPT:
        cache.clear()
    cache[key] = value
