"""Prompt-cache reads reach the wire: a task's `cached_tokens` (given, or from an OpenAI
completion's usage details) and a step's `cached_input_tokens`."""

from __future__ import annotations

import uuid

COMPLETION = {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "Blue"}, "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 1200, "completion_tokens": 3, "total_tokens": 1203,
                        "prompt_tokens_details": {"cached_tokens": 1024}}}


def tid() -> str:
    return f"cache-{uuid.uuid4().hex}"


def test_a_logged_completion_fills_cached_tokens(sdk, wire) -> None:
    task_id = tid()
    sdk.log(input="A color?", output=COMPLETION, task_id=task_id)
    record = wire.task(task_id)
    assert (record["prompt_tokens"], record["cached_tokens"], record["output"]) == (1200, 1024, "Blue")
    assert record["metadata"]["prompt_tokens_details.cached_tokens"] == "1024"  # kept as logged too


def test_cached_tokens_given_as_a_keyword_is_typed(sdk, wire) -> None:
    task_id = tid()
    sdk.log(input="q", output="a", task_id=task_id, prompt_tokens=10, cached_tokens="8")
    record = wire.task(task_id)
    assert record["cached_tokens"] == 8 and "cached_tokens" not in record["metadata"]


def test_a_task_without_usage_has_no_cached_tokens(sdk, wire) -> None:
    task_id = tid()
    sdk.log(input="q", output="a", task_id=task_id)
    assert wire.task(task_id)["cached_tokens"] is None


def test_a_step_with_a_completion_carries_its_cached_input_tokens(sdk, wire) -> None:
    task_id = tid()
    sdk.log(input="q", output="Blue", task_id=task_id, steps=[{"name": "llm", "output": COMPLETION}])
    [step] = [r for r in wire.records("span") if r["task_id"] == task_id]
    assert (step["input_tokens"], step["cached_input_tokens"]) == (1200, 1024)
