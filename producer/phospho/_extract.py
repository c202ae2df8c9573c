"""phospho's extraction rules, as pure functions over converted (JSON-like) values.

See ../shared/reference/phospho-sdk.md: input/output to text, system prompt, usage, model.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "input_to_text",
    "output_to_text",
    "detect_system_prompt",
    "detect_usage",
    "detect_model",
    "is_message_list",
]


def is_message_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(m, dict) and "role" in m and "content" in m for m in value
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _last_block(messages: list[dict[str, Any]], role: str) -> str:
    """The last contiguous block of messages with `role`, joined with newlines."""
    block: list[str] = []
    for message in reversed(messages):
        if message.get("role") == role:
            content = message.get("content")
            block.append("" if content is None else _text(content))
        elif block:
            break
    return "\n".join(reversed(block))


def input_to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        messages = value.get("messages")
        if isinstance(messages, list) and messages:
            last = messages[-1]
            if isinstance(last, dict) and last.get("content") is not None:
                return _text(last["content"])
    if is_message_list(value):
        return _last_block(value, "user")
    return _text(value)


def output_to_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        choices = value.get("choices")
        if choices == [] and str(value.get("object", "")).endswith("chunk"):
            return ""  # a streamed chunk without choices (e.g. the final usage chunk)
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            message = choices[0].get("message")
            if isinstance(message, dict):
                if message.get("content") is not None:
                    return _text(message["content"])
            else:  # a streamed chunk: the delta's content, "" at the end of the stream
                delta = choices[0].get("delta")
                content = delta.get("content") if isinstance(delta, dict) else None
                return "" if content is None else _text(content)
        if "response" in value:  # Ollama
            return _text(value["response"])
    if is_message_list(value):
        return _last_block(value, "assistant")
    return _text(value)


def detect_system_prompt(input_value: Any) -> str | None:
    if isinstance(input_value, dict):
        prompt = None
        messages = input_value.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            if messages[0].get("role") == "system" and messages[0].get("content") is not None:
                prompt = _text(messages[0]["content"])
        if input_value.get("system") is not None:  # Anthropic-style top-level system
            prompt = _text(input_value["system"])
        return prompt
    if is_message_list(input_value):
        prompts = [_text(m["content"]) for m in input_value if m.get("role") == "system" and m["content"] is not None]
        return "\n".join(prompts) if prompts else None
    return None


def detect_usage(output_value: Any) -> dict[str, Any] | None:
    if isinstance(output_value, dict):
        if "usage" in output_value:
            usage = output_value["usage"]
            return usage if isinstance(usage, dict) else None
        if output_value.get("object") == "chat.completion.chunk":
            return {"completion_tokens": 1}  # one streamed chunk ~ one token, as in phospho
    return None


def detect_model(input_value: Any, output_value: Any) -> Any:
    if isinstance(output_value, dict) and "model" in output_value:
        return output_value["model"]
    if isinstance(input_value, dict) and "model" in input_value:
        return input_value["model"]
    return None
