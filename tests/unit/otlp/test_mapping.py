"""GenAI spans to tasks: OpenLLMetry's indexed attributes and the newer gen_ai.*.messages each make
one task (the last user message, the completion, model, usage with cached tokens, session, user);
which span speaks for a trace; a trace in pieces stays one task, sent again only when it improves;
what the receiver remembers is bounded."""

from __future__ import annotations

import json
from pathlib import Path

from phospho_stream.otlp.decode import JSON, parse_request
from phospho_stream.otlp.spans import ReceivedSpan, received_spans
from phospho_stream.otlp.tasks import best_candidate, candidate
from phospho_stream.otlp.traces import TraceMemory

from tests.support.otlp import make_spans, otlp_request

PAYLOADS = Path(__file__).with_name("payloads")


def payload_spans(name: str) -> list[ReceivedSpan]:
    received = received_spans(parse_request((PAYLOADS / name).read_bytes(), JSON))
    assert received.rejected == 0
    return received.spans


def sdk_spans(build, resource=None) -> list[ReceivedSpan]:
    return received_spans(otlp_request(make_spans(build, resource))).spans


def one_update(spans: list[ReceivedSpan]):
    [trace_id] = {s.trace_id for s in spans}
    return TraceMemory(1 << 20).update(trace_id, spans)


def test_openllmetry_indexed_attributes_make_one_task() -> None:
    update = one_update(payload_spans("openllmetry_indexed.json"))
    task = update.task
    assert update.task_id == task["task_id"] == "otlp_5b8efff798038103d269b633813fc60c"
    assert (task["input"], task["output"]) == ("It is 4411-XQ, ordered on Monday.",
                                               "Order 4411-XQ left our warehouse on Tuesday and arrives tomorrow.")
    assert task["system_prompt"] == "You are a support agent for an online shop. Answer in one sentence."
    assert (task["model"], task["prompt_tokens"], task["completion_tokens"], task["total_tokens"], task["cached_tokens"]) == (
        "gpt-4o-mini-2024-07-18", 1544, 27, 1571, 1280)
    assert (task["session_id"], task["user_id"], task["version_id"]) == ("ticket-8812", "customer-77", "2.4.1")
    assert update.created_at_ms == 1763700000120 and update.speaker == "eee19b7ec3c1b175"
    assert [m["role"] for m in task["raw_input"]] == ["system", "user", "assistant", "user"]
    assert task["metadata"] == {"source": "otlp", "trace_id": "5b8efff798038103d269b633813fc60c",
                                "span_id": "eee19b7ec3c1b175", "provider": "OpenAI", "operation": "chat",
                                "service.name": "support-bot"}


def test_semconv_messages_make_one_task_with_ids_from_other_spans() -> None:
    update = one_update(payload_spans("semconv_messages.json"))
    task = update.task
    assert task["input"] == "Find me a train from Paris to Lyon tomorrow morning."  # the last user message
    assert task["output"] == "Take the 07:56 TGV 6603: you are in Lyon at 09:52."
    assert task["system_prompt"] == "You plan trips. Be concise."
    assert (task["model"], task["prompt_tokens"], task["completion_tokens"], task["total_tokens"], task["cached_tokens"]) == (
        "gpt-4.1-2025-04-14", 2210, 41, 2251, 2048)
    assert (task["session_id"], task["user_id"]) == ("conv_6f1c2e", "traveller-3")  # the user from the root span
    assert (update.session_id, update.user_id, task["version_id"]) == ("conv_6f1c2e", "traveller-3", None)
    assert update.speaker == "b7ad6b7169203331"  # not the tool execution, not the HTTP span


def chat(tracer, name: str, user: str | None, answer: str | None, **extra) -> None:
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
                  **extra}
    if user is not None:
        attributes["gen_ai.input.messages"] = json.dumps([{"role": "user", "parts": [{"type": "text", "content": user}]}])
    if answer is not None:
        attributes["gen_ai.output.messages"] = json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": answer}]}])
    with tracer.start_as_current_span(name, attributes=attributes):
        pass


def test_the_outermost_call_with_messages_speaks_for_an_agent() -> None:
    def agent(tracer):
        with tracer.start_as_current_span("invoke_agent planner", attributes={
                "gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "openai",
                "gen_ai.input.messages": json.dumps([{"role": "user", "content": "Plan my day"}]),
                "gen_ai.output.messages": json.dumps([{"role": "assistant", "content": "Here is your day."}])}):
            chat(tracer, "chat 1", "Plan my day", "calling the calendar")
            chat(tracer, "chat 2", "Plan my day", "Here is your day.")

    speaker = best_candidate(candidate(s) for s in sdk_spans(agent))
    assert speaker.fields["output"] == "Here is your day." and speaker.fields["metadata"]["operation"] == "invoke_agent"


def test_without_an_outer_message_the_last_call_speaks() -> None:
    def agent(tracer):
        with tracer.start_as_current_span("invoke_agent planner", attributes={"gen_ai.operation.name": "invoke_agent"}):
            chat(tracer, "chat 1", "Plan my day", "calling the calendar")
            chat(tracer, "chat 2", "Plan my day", "Here is your day.")

    spans = sdk_spans(agent)
    speaker = best_candidate(candidate(s) for s in spans)
    assert speaker.fields["output"] == "Here is your day."
    assert best_candidate(candidate(s) for s in reversed(spans)) == speaker  # whatever the order


def test_a_call_without_content_still_makes_a_task() -> None:
    """OpenTelemetry's own instrumentations record no message content unless told."""
    spans = sdk_spans(lambda t: chat(t, "chat", None, None, **{"gen_ai.usage.input_tokens": 9,
                                                                "gen_ai.usage.output_tokens": 2}))
    task = one_update(spans).task
    assert (task["input"], task["output"], task["model"], task["total_tokens"]) == ("", None, "gpt-4o", 11)


def test_embeddings_tools_and_plain_spans_make_no_task() -> None:
    def rag(tracer):
        with tracer.start_as_current_span("GET /search", attributes={"http.route": "/search", "user.id": "ann"}):
            with tracer.start_as_current_span("embeddings text-embedding-3-small", attributes={
                    "gen_ai.operation.name": "embeddings", "gen_ai.provider.name": "openai"}):
                pass
            with tracer.start_as_current_span("execute_tool lookup", attributes={"gen_ai.operation.name": "execute_tool"}):
                pass

    update = one_update(sdk_spans(rag))
    assert update.task is None and update.speaker is None
    assert update.user_id == "ann" and len(update.spans) == 3  # the spans still go, linked to the trace's task id


def pieces_of_a_trace() -> tuple[list[ReceivedSpan], list[ReceivedSpan]]:
    """A chat span that ended first (the first export), then its parent request with the session."""
    def build(tracer):
        with tracer.start_as_current_span("POST /chat", attributes={"session.id": "chat-42", "user.id": "bob"}):
            chat(tracer, "chat gpt-4o", "A color?", "Blue")

    spans = sdk_spans(build)
    return [s for s in spans if s.readable.name != "POST /chat"], [s for s in spans if s.readable.name == "POST /chat"]


def test_a_trace_in_pieces_is_one_task_sent_again_when_it_improves() -> None:
    first, second = pieces_of_a_trace()
    memory = TraceMemory(1 << 20)
    trace_id = first[0].trace_id
    before = memory.update(trace_id, first)
    assert before.task["session_id"] is None and before.task["input"] == "A color?"
    after = memory.update(trace_id, second)  # the session came with the parent: the task again, complete
    assert after.task_id == before.task_id and after.task["session_id"] == "chat-42" and after.task["user_id"] == "bob"
    assert after.task["output"] == "Blue" and after.speaker == before.speaker
    assert memory.update(trace_id, second).task is None  # the same piece again (a retry): nothing new
    assert memory.update(trace_id, first).task is None
    assert len(memory) == 1


def test_the_first_session_of_a_trace_stays() -> None:
    first, second = pieces_of_a_trace()
    memory = TraceMemory(1 << 20)
    memory.update(first[0].trace_id, second)  # the parent first: its ids are remembered, no task yet
    update = memory.update(first[0].trace_id, first)
    assert (update.task["session_id"], update.task["user_id"]) == ("chat-42", "bob")


def test_a_lower_ranked_span_arriving_later_does_not_replace_the_speaker() -> None:
    def two_calls(tracer):
        with tracer.start_as_current_span("turn"):
            chat(tracer, "chat 1", "first question", "first answer")
            chat(tracer, "chat 2", "second question", "second answer")

    spans = sdk_spans(two_calls)
    last = [s for s in spans if s.readable.name == "chat 2"]
    earlier = [s for s in spans if s.readable.name == "chat 1"]
    memory = TraceMemory(1 << 20)
    assert memory.update(last[0].trace_id, last).task["output"] == "second answer"
    assert memory.update(last[0].trace_id, earlier).task is None


def test_what_is_remembered_is_bounded_by_bytes() -> None:
    memory = TraceMemory(20_000)
    long_answer = "x" * 4_000
    for i in range(50):
        spans = sdk_spans(lambda t, i=i: chat(t, f"chat {i}", "q", long_answer))
        memory.update(spans[0].trace_id, spans)
    assert 1 <= len(memory) <= 3
