"""The OpenTelemetry GenAI attributes of a span as the span event's typed fields (sender thread).

Current semantic conventions first (`gen_ai.provider.name`, `gen_ai.usage.input_tokens`,
`gen_ai.input.messages`...), then the older names instrumentations still send
(`gen_ai.system`, `gen_ai.usage.prompt_tokens`, `gen_ai.prompt.0.content`, `llm.*`), then the
plain keys a manual step may use (`model`, `prompt_tokens`, `usage.completion_tokens`...).
Public as `phospho.genai`: the OTLP receiver reads received spans with the same rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["genai_fields", "genai_messages", "messages_text", "to_int"]

_OPERATION = ("gen_ai.operation.name",)
_REQUEST_TYPES = {"chat": "chat", "completion": "text_completion", "embedding": "embeddings", "rerank": "rerank"}
_PROVIDER = ("gen_ai.provider.name", "gen_ai.system", "provider")
_REQUEST_MODEL = ("gen_ai.request.model", "llm.request.model", "model")
_RESPONSE_MODEL = ("gen_ai.response.model", "llm.response.model")
_INPUT_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.usage.prompt_tokens",
                 "input_tokens", "prompt_tokens", "usage.input_tokens", "usage.prompt_tokens")
_OUTPUT_TOKENS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.usage.completion_tokens",
                  "output_tokens", "completion_tokens", "usage.output_tokens", "usage.completion_tokens")
#: prompt-cache reads, counted in the input tokens too: the current name, OpenLLMetry's older one,
#: Sentry's, OpenInference's, then the plain keys of a step (OpenAI's usage details)
_CACHED_INPUT_TOKENS = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
                        "gen_ai.usage.input_tokens.cached", "gen_ai.usage.input_tokens_details.cached_tokens",
                        "llm.usage.cache_read_input_tokens", "llm.token_count.prompt_details.cache_read",
                        "cached_tokens", "prompt_tokens_details.cached_tokens",
                        "usage.prompt_tokens_details.cached_tokens", "input_tokens_details.cached_tokens",
                        "usage.input_tokens_details.cached_tokens")
_INDEXED = re.compile(r"^(gen_ai\.prompt|gen_ai\.completion|llm\.prompts|llm\.completions)\.(\d+)\.(role|content)$")


def _first(attrs: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = attrs.get(name)
        if value is not None and value != "":
            return value
    return None


def to_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() and abs(number) < 2**63 else None


def _part_text(part: Any) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, Mapping):
        if part.get("type", "text") == "text":
            text = part.get("content", part.get("text"))
            if isinstance(text, str):
                return text
        return json.dumps(part, ensure_ascii=False, default=str)
    return str(part)


def _messages(messages: Any, plain_role: str | None) -> list[dict[str, Any]]:
    """Chat messages in one shape, {"role": ..., "content": text}, from the semconv parts form
    (JSON text or a list), the plain {role, content} form, or a bare text (role `plain_role`)."""
    if isinstance(messages, str):
        try:
            messages = json.loads(messages)
        except ValueError:
            return [{"role": plain_role, "content": messages}]
    if isinstance(messages, Mapping):
        messages = [messages]
    if not isinstance(messages, (list, tuple)):
        return [] if messages is None else [{"role": plain_role, "content": str(messages)}]
    out = []
    for message in messages:
        if not isinstance(message, Mapping):
            out.append({"role": None, "content": _part_text(message)})
            continue
        parts = message.get("parts")
        if isinstance(parts, (list, tuple)):
            text = "\n".join(_part_text(p) for p in parts)
        else:
            content = message.get("content")
            text = "\n".join(_part_text(p) for p in content) if isinstance(content, list) else _part_text(content or "")
        out.append({"role": message.get("role"), "content": text})
    return out


def messages_text(messages: Any) -> str | None:
    """One text for a list of chat messages: a single message is its content; several are
    'role: content' lines. Accepts the semconv parts form and the plain {role, content} form."""
    lines = _messages(messages, None)
    if len(lines) == 1:
        return lines[0]["content"]
    return "\n".join(f"{m['role']}: {m['content']}" if m["role"] else m["content"] for m in lines) if lines else None


def _indexed_messages(attrs: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The older flattened form: gen_ai.prompt.0.role / gen_ai.prompt.0.content ..."""
    found: dict[tuple[bool, int], dict[str, Any]] = {}
    for key, value in attrs.items():
        match = _INDEXED.match(key)
        if match is not None:
            is_prompt = match.group(1).endswith(("prompt", "prompts"))
            found.setdefault((is_prompt, int(match.group(2))), {})[match.group(3)] = value
    prompts = [found[k] for k in sorted(k for k in found if k[0])]
    completions = [found[k] for k in sorted(k for k in found if not k[0])]
    return prompts, completions


def genai_messages(attrs: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The input and output messages of a span, each {"role": ..., "content": text}:
    `gen_ai.input.messages` / `gen_ai.output.messages` (JSON), else the indexed
    `gen_ai.prompt.{i}.*` / `gen_ai.completion.{i}.*` (or `llm.prompts.{i}.*`), else a plain
    `gen_ai.prompt` / `gen_ai.completion`; `gen_ai.system_instructions` opens the input as a
    system message."""
    inputs, outputs = attrs.get("gen_ai.input.messages"), attrs.get("gen_ai.output.messages")
    if inputs is None or outputs is None:
        prompts, completions = _indexed_messages(attrs)
        if inputs is None:
            inputs = prompts or attrs.get("gen_ai.prompt")
        if outputs is None:
            outputs = completions or attrs.get("gen_ai.completion")
    input_messages = _messages(inputs, "user")
    system = attrs.get("gen_ai.system_instructions")
    if system is not None:
        input_messages.insert(0, {"role": "system", "content": messages_text(system) or ""})
    return input_messages, _messages(outputs, "assistant")


def genai_fields(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The span event's typed GenAI fields (operation, provider, models, tokens, texts)."""
    operation = _first(attrs, _OPERATION)
    if operation is None and attrs.get("llm.request.type") is not None:
        request_type = str(attrs["llm.request.type"])
        operation = _REQUEST_TYPES.get(request_type, request_type)
    fields = {
        "operation": None if operation is None else str(operation),
        "provider": _first(attrs, _PROVIDER),
        "request_model": _first(attrs, _REQUEST_MODEL),
        "response_model": _first(attrs, _RESPONSE_MODEL),
        "input_tokens": to_int(_first(attrs, _INPUT_TOKENS)),
        "output_tokens": to_int(_first(attrs, _OUTPUT_TOKENS)),
        "cached_input_tokens": to_int(_first(attrs, _CACHED_INPUT_TOKENS)),
        "input_text": None,
        "output_text": None,
    }
    for name in ("provider", "request_model", "response_model"):
        if fields[name] is not None and not isinstance(fields[name], str):
            fields[name] = str(fields[name])
    inputs, outputs = genai_messages(attrs)
    fields["input_text"] = messages_text(inputs) if inputs else None
    fields["output_text"] = messages_text(outputs) if outputs else None
    return fields
