"""The OpenTelemetry GenAI attributes of a span as the span event's typed fields (sender thread).

Current semantic conventions first (`gen_ai.provider.name`, `gen_ai.usage.input_tokens`,
`gen_ai.input.messages`...), then the older names instrumentations still send
(`gen_ai.system`, `gen_ai.usage.prompt_tokens`, `gen_ai.prompt.0.content`, `llm.*`), then the
plain keys a manual step may use (`model`, `prompt_tokens`, `usage.completion_tokens`...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["genai_fields", "messages_text", "to_int"]

_OPERATION = ("gen_ai.operation.name",)
_REQUEST_TYPES = {"chat": "chat", "completion": "text_completion", "embedding": "embeddings", "rerank": "rerank"}
_PROVIDER = ("gen_ai.provider.name", "gen_ai.system", "provider")
_REQUEST_MODEL = ("gen_ai.request.model", "llm.request.model", "model")
_RESPONSE_MODEL = ("gen_ai.response.model", "llm.response.model")
_INPUT_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.usage.prompt_tokens",
                 "input_tokens", "prompt_tokens", "usage.input_tokens", "usage.prompt_tokens")
_OUTPUT_TOKENS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.usage.completion_tokens",
                  "output_tokens", "completion_tokens", "usage.output_tokens", "usage.completion_tokens")
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


def messages_text(messages: Any) -> str | None:
    """One text for a list of chat messages: a single message is its content; several are
    'role: content' lines. Accepts the semconv parts form and the plain {role, content} form."""
    if isinstance(messages, str):
        try:
            messages = json.loads(messages)
        except ValueError:
            return messages
    if isinstance(messages, Mapping):
        messages = [messages]
    if not isinstance(messages, (list, tuple)):
        return None if messages is None else str(messages)
    lines = []
    for message in messages:
        if not isinstance(message, Mapping):
            lines.append((None, _part_text(message)))
            continue
        parts = message.get("parts")
        if isinstance(parts, (list, tuple)):
            text = "\n".join(_part_text(p) for p in parts)
        else:
            content = message.get("content")
            text = "\n".join(_part_text(p) for p in content) if isinstance(content, list) else _part_text(content or "")
        lines.append((message.get("role"), text))
    if len(lines) == 1:
        return lines[0][1]
    return "\n".join(f"{role}: {text}" if role else text for role, text in lines) if lines else None


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


def genai_fields(attrs: Mapping[str, Any]) -> dict[str, Any]:
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
        "input_text": None,
        "output_text": None,
    }
    for name in ("provider", "request_model", "response_model"):
        if fields[name] is not None and not isinstance(fields[name], str):
            fields[name] = str(fields[name])
    inputs = attrs.get("gen_ai.input.messages")
    outputs = attrs.get("gen_ai.output.messages")
    if inputs is None or outputs is None:
        prompts, completions = _indexed_messages(attrs)
        inputs = prompts or inputs
        outputs = completions or outputs
    system = attrs.get("gen_ai.system_instructions")
    if system is not None:
        system_text = messages_text(system)
        inputs = [{"role": "system", "content": system_text}, *(_as_list(inputs))]
    fields["input_text"] = messages_text(inputs) if inputs else None
    fields["output_text"] = messages_text(outputs) if outputs else None
    return fields


def _as_list(messages: Any) -> list[Any]:
    if isinstance(messages, str):
        try:
            messages = json.loads(messages)
        except ValueError:
            return [{"role": "user", "content": messages}]
    if messages is None:
        return []
    return list(messages) if isinstance(messages, (list, tuple)) else [messages]
