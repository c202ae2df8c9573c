"""The evaluation prompt: was the assistant's last answer a success or a failure, and why.

phospho-analytics.md section 11, with section 14's fixes: the session's earlier messages in
chronological order; the app's own system prompt, so the judge knows what the assistant was
asked to do; few-shot examples only from tasks users flagged (never the judge's own verdicts),
as many successes as failures; a one-line reason beside the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

from .records import Example, Turn, transcript
from .request import ChatRequest

__all__ = ["PROMPT_VERSION", "DEFAULT_GUIDELINES", "judge_request", "REPAIR_MESSAGE", "MAX_TOKENS"]

#: changes whenever the prompt's wording or layout does (stored with every verdict)
PROMPT_VERSION = "e1"
#: the verdict and a one-sentence reason fit well within this
MAX_TOKENS = 80

DEFAULT_GUIDELINES = (
    "The interaction is a success when the assistant's last answer helps the user: it is correct, "
    "relevant to what the user asked, complete enough to act on, and appropriate. It is a failure when "
    "the answer is wrong, off-topic, unhelpful, refuses without a good reason, or is inappropriate.")

_SYSTEM = "You are an impartial judge evaluating an interaction between a user and an assistant. " \
          "You follow the given evaluation guidelines."
_ASK = ("Respond with exactly two lines. First line: one word, success or failure. "
        "Second line: the reason, in one short sentence.")
REPAIR_MESSAGE = "Your answer could not be read. " + _ASK


def judge_request(model: str, current: Turn, history: Sequence[Turn], system_prompt: str | None,
                  examples: Sequence[Example], guidelines: str | None = None) -> ChatRequest:
    """The request judging `current`; `history` holds the session's earlier tasks, oldest first."""
    system = [_SYSTEM, "[EVALUATION GUIDELINES START]", (guidelines or DEFAULT_GUIDELINES).strip(),
              "[EVALUATION GUIDELINES END]"]
    if system_prompt:
        system += ["The assistant was given this system prompt by its developers:",
                   "[ASSISTANT SYSTEM PROMPT START]", system_prompt, "[ASSISTANT SYSTEM PROMPT END]"]
    if examples:
        system += ["Here are interactions users rated, with their rating:", "[EXAMPLES START]"]
        for example in examples:
            system += [transcript([Turn(example.task_id, example.input, example.output)]), f"-> {example.flag}", ""]
        system[-1] = "[EXAMPLES END]"
    user = []
    if history:
        user += ["Here is what was said before, for context:", "[CONTEXT START]", transcript(history),
                 "[CONTEXT END]"]
    user += ["Here is the interaction to evaluate:", "[START INTERACTION]", transcript([current]),
             "[END INTERACTION]", _ASK]
    return ChatRequest(model, (("system", "\n".join(system)), ("user", "\n".join(user))), MAX_TOKENS)
