"""Text, usage, model and system prompt of logged values: the app's extractor when given, else phospho's rule.

phospho's rules (see the phospho SDK reference) are pure functions over converted (JSON-like)
values; `to_text`, `detect_fields` and `chunk_fields` apply the app's own extractors first and
fall back to them when an extractor raises (the reason goes to `errors`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .convert import safe_text, to_loggable

__all__ = [
    "input_to_text",
    "output_to_text",
    "detect_system_prompt",
    "detect_usage",
    "cached_tokens",
    "detect_model",
    "is_message_list",
    "to_text",
    "detect_fields",
    "chunk_fields",
]

_STR = str


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


def cached_tokens(usage: Any) -> Any:
    """The prompt-cache reads of a usage dict (OpenAI's `prompt_tokens_details.cached_tokens`,
    its Responses API's `input_tokens_details.cached_tokens`, or a plain `cached_tokens`)."""
    if not isinstance(usage, dict):
        return None
    if usage.get("cached_tokens") is not None:
        return usage["cached_tokens"]
    for details in ("prompt_tokens_details", "input_tokens_details"):
        value = usage.get(details)
        if isinstance(value, dict) and value.get("cached_tokens") is not None:
            return value["cached_tokens"]
    return None


def detect_model(input_value: Any, output_value: Any) -> Any:
    if isinstance(output_value, dict) and "model" in output_value:
        return output_value["model"]
    if isinstance(input_value, dict) and "model" in input_value:
        return input_value["model"]
    return None


def _call(fn: Callable[..., Any], args: tuple, errors: list[str], what: str) -> tuple[bool, Any]:
    try:
        return True, fn(*args)
    except Exception as exc:  # the app's extractor raised: fall back to the default rule
        errors.append(f"{what} raised {type(exc).__name__}: {safe_text(exc)}; default rule used")
        return False, None


def to_text(value: Any, custom: Callable[[Any], Any] | None, default: Callable[[Any], Any],
            errors: list[str], name: str) -> Any:
    """The app's extractor when given (its result made a str), else phospho's default rule."""
    if custom is not None:
        ok, text = _call(custom, (value,), errors, name)
        if ok and text is not None:
            if type(text) is not _STR:
                text = safe_text(to_loggable(text, errors, name))
            return text
    return default(value)


def detect_fields(content: dict[str, Any], conv_in: Any, conv_out: Any, usage_function: Any,
                  errors: list[str]) -> None:
    """Usage (the app's function, else phospho's rule), model and system prompt into `content`."""
    usage = None
    if usage_function is not None:
        ok, usage = _call(usage_function, (conv_in, conv_out), errors, "input_output_to_usage_function")
        usage = _usage_dict(usage, errors) if ok else None
    else:
        usage = detect_usage(conv_out)
    if usage:
        content.update(usage)
    model = detect_model(conv_in, conv_out)
    if model is not None:
        content["model"] = model
    system_prompt = detect_system_prompt(conv_in)
    if system_prompt is not None:
        content["system_prompt"] = system_prompt


def _usage_dict(usage: Any, errors: list[str]) -> dict[str, Any] | None:
    """The app's usage function's result, converted (a snapshot); None unless a dict."""
    if usage is None:
        return None
    converted = to_loggable(usage, errors, "input_output_to_usage_function")
    if type(converted) is not dict:
        errors.append(f"input_output_to_usage_function returned {type(usage).__name__}, not a dict; ignored")
        return None
    return converted


def chunk_fields(conv: Any, conv_input: Any, to_str: Callable[[Any], Any] | None,
                 usage_function: Callable[[Any, Any], Any] | None, errors: list[str]) -> tuple[Any, Any]:
    """The text and the usage of one converted stream chunk."""
    text = None
    if to_str is not None:
        try:
            text = to_str(conv)
        except Exception as exc:
            note = f"output_to_str_function raised {type(exc).__name__}: {safe_text(exc)}; default rule used"
            if note not in errors:
                errors.append(note)
        if text is not None and type(text) is not _STR:
            text = safe_text(to_loggable(text, errors, "output_to_str_function"))
    if text is None:
        text = output_to_text(conv)
    usage = None
    if usage_function is not None:
        try:
            usage = _usage_dict(usage_function(conv_input, conv), errors)
        except Exception as exc:
            errors.append(f"input_output_to_usage_function raised {type(exc).__name__}: {safe_text(exc)}")
    else:
        usage = detect_usage(conv)
    return text, usage
