"""The judge's and the LLM events' prompts: what each shows, in which order, and that equal
requests hash equal while any change of content changes the key."""

from __future__ import annotations

from phospho_stream.config import EventDefinition
from phospho_stream.rules.evaluation import ChatRequest, Example, Turn, event_request, judge_request

EARLIER = [Turn("t1", "first question", "first answer", 1), Turn("t2", "second question", "second answer", 2)]
NOW = Turn("t3", "third question", "third answer", 3)


def _event(scope: str = "task", **score) -> EventDefinition:
    return EventDefinition(event_name="escalation", description="The user asks for a human.",
                           detection_engine="llm_detection", detection_scope=scope,
                           **({"score_range_settings": score} if score else {}))


def test_the_judge_sees_its_guidelines_the_system_prompt_examples_and_the_session_in_order():
    examples = [Example("s", "good q", "good a", "success"), Example("f", "bad q", "bad a", "failure")]
    request = judge_request("m", NOW, EARLIER, "You are a helpful bank assistant.", examples)
    (role_s, system), (role_u, user) = request.messages
    assert (role_s, role_u) == ("system", "user") and request.max_tokens == 80 and not request.logprobs
    assert "You are a helpful bank assistant." in system
    assert "user: good q\nassistant: good a\n-> success" in system and "-> failure" in system
    context = user.split("[CONTEXT START]")[1].split("[CONTEXT END]")[0]
    assert context.strip() == ("user: first question\nassistant: first answer\n"
                               "user: second question\nassistant: second answer")
    assert "[START INTERACTION]\nuser: third question\nassistant: third answer\n[END INTERACTION]" in user
    assert user.endswith("Second line: the reason, in one short sentence.")


def test_the_judge_prompt_leaves_out_what_it_does_not_have_and_takes_custom_guidelines():
    request = judge_request("m", Turn("t", "hi", None), [], None, [], guidelines="Be strict about refunds.")
    system, user = (content for _, content in request.messages)
    assert "Be strict about refunds." in system and "SYSTEM PROMPT" not in system and "EXAMPLES" not in system
    assert "CONTEXT" not in user and "[START INTERACTION]\nuser: hi\n[END INTERACTION]" in user


def test_each_scope_shows_its_own_text():
    def shown(scope: str, turn: Turn = NOW, system_prompt: str | None = "Be a pirate.") -> str | None:
        request = event_request("m", _event(scope), turn, EARLIER, system_prompt)
        return None if request is None else request.messages[1][1].split("LABEL START]\n")[1].split("\n[")[0]

    assert shown("task") == "user: third question\nassistant: third answer"
    assert shown("task_input_only") == "user: third question"
    assert shown("task_output_only") == "assistant: third answer"
    assert shown("session").startswith("user: first question\n") and shown("session").endswith("third answer")
    assert shown("system_prompt") == "Be a pirate."
    assert shown("system_prompt", system_prompt=None) is None  # nothing to ask
    assert shown("task_output_only", Turn("t", "q", None)) is None


def test_the_context_block_comes_with_task_scopes_only():
    task = event_request("m", _event("task"), NOW, EARLIER, None)
    session = event_request("m", _event("session"), NOW, EARLIER, None)
    assert "[CONTEXT START]\nuser: first question" in task.messages[0][1]
    assert "CONTEXT" not in session.messages[0][1]


def test_each_score_type_asks_its_own_question():
    confidence = event_request("m", _event(), NOW, [], None)
    assert confidence.logprobs and confidence.top_logprobs == 20
    assert confidence.messages[1][1].endswith("Respond with only one word: Yes or No.")
    ranged = event_request("m", _event(score_type="range", min=0, max=10), NOW, [], None)
    assert ranged.messages[1][1].endswith("Respond with only a whole number between 0 and 10.")
    category = event_request("m", _event(score_type="category", categories=["billing", "shipping"]), NOW, [], None)
    text = category.messages[1][1]
    assert "1. billing\n2. shipping" in text and "respond 0 if 'escalation' did not happen" in text
    assert not category.logprobs


def test_a_requests_key_follows_its_content_only():
    one = judge_request("m", NOW, EARLIER, None, [])
    assert one.key() == judge_request("m", NOW, EARLIER, None, []).key()
    assert one.key() != judge_request("m", NOW, EARLIER[1:], None, []).key()
    assert one.key() != judge_request("other", NOW, EARLIER, None, []).key()
    assert one.key() != ChatRequest("m", one.messages, one.max_tokens, logprobs=True).key()
    assert one.followed_by(("user", "again")).messages[-1] == ("user", "again")
