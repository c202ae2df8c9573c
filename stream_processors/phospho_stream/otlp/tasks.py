"""A trace's task, from its GenAI spans (pure functions): which span speaks for the trace, the
task's fields taken from it, and the trace's session and user.

A GenAI span (OpenTelemetry GenAI conventions: `gen_ai.operation.name`, `gen_ai.provider.name`
or `gen_ai.system`, `llm.request.type`, or chat messages) other than an embedding, a tool
execution or an agent's creation may speak for its trace. The one that does: a span with
messages before one without, then the one that ends last (the outermost call, or the last
one), then the one that started first; the span id settles the rest, so the choice does not
depend on the order spans arrive in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from phospho.genai import genai_fields, genai_messages, messages_text, to_int

from .spans import ReceivedSpan

__all__ = ["Candidate", "candidate", "best_candidate", "trace_ids", "task_id_of", "task_fields",
           "SESSION_KEYS", "USER_KEYS"]

#: where a trace's session id is read, first found wins: the semantic conventions
#: (session.id, gen_ai.conversation.id), then OpenLLMetry's and Langfuse's names
SESSION_KEYS = ("session.id", "gen_ai.conversation.id", "traceloop.association.properties.session_id",
                "langfuse.session.id")
USER_KEYS = ("user.id", "enduser.id", "traceloop.association.properties.user_id", "langfuse.user.id")
_TOTAL_TOKENS = ("gen_ai.usage.total_tokens", "llm.usage.total_tokens")
#: GenAI operations that are not a turn of a conversation
_NOT_A_TURN = frozenset({"embeddings", "execute_tool", "create_agent"})
_SYSTEM_ROLES = frozenset({"system", "developer"})


def task_id_of(trace_id: str) -> str:
    """The task of a trace: `otlp_` and its 32 hex digits (the same for every piece and resend)."""
    return f"otlp_{trace_id}"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A GenAI span that may speak for its trace, with the task fields it gives."""

    rank: tuple[bool, int, int, str]  # (has messages, end ns, -start ns, span id): the greatest speaks
    span_id: str
    created_at_ms: int  # the span's start
    fields: Mapping[str, Any]  # input, output, model, usage... (no ids)
    size: int  # characters of text it holds


def _turn_texts(inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> tuple[str, str | None, str | None]:
    """(the last user message, the completion, the system prompt)."""
    users = [m for m in inputs if m["role"] == "user"]
    if users:
        text = users[-1]["content"]
    else:
        turns = [m for m in inputs if m["role"] not in _SYSTEM_ROLES]
        text = turns[-1]["content"] if turns else ""
    system = "\n".join(m["content"] for m in inputs if m["role"] in _SYSTEM_ROLES) or None
    return text, (messages_text(outputs) if outputs else None), system


def candidate(span: ReceivedSpan) -> Candidate | None:
    """The span as a candidate for its trace's task, or None when it is not a GenAI turn."""
    attrs = span.attributes
    if not any(key.startswith(("gen_ai.", "llm.")) for key in attrs):
        return None
    genai = genai_fields(attrs)
    if genai["operation"] in _NOT_A_TURN:
        return None
    inputs, outputs = genai_messages(attrs)
    if not (genai["operation"] or genai["provider"] or inputs or outputs):
        return None
    text, completion, system = _turn_texts(inputs, outputs)
    prompt, answer = genai["input_tokens"], genai["output_tokens"]
    total = next((to_int(attrs[k]) for k in _TOTAL_TOKENS if attrs.get(k) is not None), None)
    if total is None and (prompt is not None or answer is not None):
        total = (prompt or 0) + (answer or 0)
    fields = {
        "input": text, "output": completion, "system_prompt": system,
        "model": genai["response_model"] or genai["request_model"],
        "prompt_tokens": prompt, "completion_tokens": answer, "total_tokens": total,
        "cached_tokens": genai["cached_input_tokens"],
        "raw_input": inputs or None, "raw_output": outputs or None,
        "metadata": {k: v for k, v in (("provider", genai["provider"]), ("operation", genai["operation"]))
                     if v is not None},
    }
    size = sum(len(m["content"]) for m in (*inputs, *outputs)) + len(text) + len(completion or "") + len(system or "")
    return Candidate((bool(inputs or outputs), span.end_ns, -span.start_ns, span.span_id), span.span_id,
                     span.start_ns // 1_000_000, fields, size)


def best_candidate(candidates: Iterable[Candidate | None]) -> Candidate | None:
    found = [c for c in candidates if c is not None]
    return max(found, key=lambda c: c.rank) if found else None


def _first(attributes: Iterable[Mapping[str, Any]], keys: tuple[str, ...]) -> str | None:
    for attrs in attributes:
        for key in keys:
            value = attrs.get(key)
            if value is not None and value != "":
                return value if isinstance(value, str) else str(value)
    return None


def trace_ids(spans: list[ReceivedSpan], speaker: str | None) -> tuple[str | None, str | None]:
    """(session id, user id) of a trace's spans: the speaking span's attributes first, then the
    other spans' (in start order), then their resource's."""
    ordered = sorted(spans, key=lambda s: (s.span_id != speaker, s.start_ns, s.span_id))
    sources = [s.attributes for s in ordered] + [s.resource for s in ordered]
    return _first(sources, SESSION_KEYS), _first(sources, USER_KEYS)


def task_fields(trace_id: str, speaker: Candidate, session_id: str | None, user_id: str | None,
                resource: Mapping[str, Any]) -> dict[str, Any]:
    """What the Forwarder sends for the trace's task (phospho.log's keys)."""
    metadata = {"source": "otlp", "trace_id": trace_id, "span_id": speaker.span_id, **speaker.fields["metadata"]}
    service = resource.get("service.name")
    if service is not None:
        metadata["service.name"] = str(service)
    version = resource.get("service.version")
    return {**speaker.fields, "task_id": task_id_of(trace_id), "session_id": session_id, "user_id": user_id,
            "version_id": None if version is None else str(version), "metadata": metadata}
