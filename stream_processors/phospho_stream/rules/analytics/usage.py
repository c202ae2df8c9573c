"""Token usage as apps log it (OpenAI, Anthropic, Gemini, OpenTelemetry keys), in one shape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["TokenUsage", "token_usage"]

_INPUT = (("prompt_tokens",), ("input_tokens",), ("gen_ai.usage.input_tokens",), ("gen_ai.usage.prompt_tokens",),
          ("llm.usage.prompt_tokens",), ("prompt_token_count",))
_OUTPUT = (("completion_tokens",), ("output_tokens",), ("gen_ai.usage.output_tokens",),
           ("gen_ai.usage.completion_tokens",), ("llm.usage.completion_tokens",), ("candidates_token_count",))
_CACHE_READ_BESIDE = (("cache_read_input_tokens",),)
_CACHE_WRITE_BESIDE = (("cache_creation_input_tokens",),)
_THOUGHTS_BESIDE = (("thoughts_token_count",),)
#: cached input already counted in the input tokens (OpenAI, Gemini)
_CACHED_INSIDE = (("prompt_tokens_details", "cached_tokens"), ("input_tokens_details", "cached_tokens"),
                  ("cached_tokens",), ("cached_content_token_count",))
#: reasoning already counted in the output tokens (OpenAI)
_REASONING_INSIDE = (("completion_tokens_details", "reasoning_tokens"),
                     ("output_tokens_details", "reasoning_tokens"), ("reasoning_tokens",))


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts: input and output include their cached and reasoning parts."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


def token_usage(usage: Mapping[str, Any] | None) -> TokenUsage | None:
    """The counts in `usage`, or None when it holds none. Counts may be ints or numeric strings.

    Anthropic reports cache reads and writes beside its input tokens (not inside): they are
    added to the input. Gemini's thinking tokens are beside its output: added to the output.
    """
    if not isinstance(usage, Mapping):
        return None
    input_tokens = _first(usage, _INPUT)
    output_tokens = _first(usage, _OUTPUT)
    cache_read_beside = _first(usage, _CACHE_READ_BESIDE)
    cache_write_beside = _first(usage, _CACHE_WRITE_BESIDE)
    thoughts_beside = _first(usage, _THOUGHTS_BESIDE)
    if all(n is None for n in (input_tokens, output_tokens, cache_read_beside, cache_write_beside)):
        return None
    cached = (_first(usage, _CACHED_INSIDE) or 0) + (cache_read_beside or 0)
    reasoning = (_first(usage, _REASONING_INSIDE) or 0) + (thoughts_beside or 0)
    total_in = (input_tokens or 0) + (cache_read_beside or 0) + (cache_write_beside or 0)
    total_out = (output_tokens or 0) + (thoughts_beside or 0)
    return TokenUsage(total_in, total_out, min(cached, total_in), cache_write_beside or 0,
                      min(reasoning, total_out))


def _first(usage: Mapping[str, Any], paths: tuple[tuple[str, ...], ...]) -> int | None:
    for path in paths:
        value: Any = usage
        for key in path:
            if value.__class__ is not dict and not isinstance(value, Mapping):
                value = None
                break
            value = value.get(key)
        if value is not None:
            count = _count(value)
            if count is not None:
                return count
    return None


def _count(value: Any) -> int | None:
    if value.__class__ is int:
        return value if 0 <= value < 1e15 else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and value == value and 0 <= value < 1e15:
        return int(value)
    return None
