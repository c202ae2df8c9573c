"""The prompt of an LLM event (phospho-analytics.md 6.2), with section 14's fixes: the scope the
definition names is honoured, earlier messages come in chronological order, and the range a
score may take is the definition's own.

Scopes: `task` shows the user's input and the assistant's output; `task_input_only` the input;
`task_output_only` the output; each with the session's earlier messages as context. `session`
shows the whole transcript, the current task last. `system_prompt` shows the task's system
prompt alone. A scope with nothing to show (no output, no system prompt) asks nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...config import EventDefinition
from .records import Turn, transcript
from .request import ChatRequest

__all__ = ["event_request", "TOP_LOGPROBS"]

#: alternatives of the first token asked for (OpenAI's maximum)
TOP_LOGPROBS = 20
_INTRO = "You are an impartial judge reading {what}. "


def event_request(model: str, event: EventDefinition, current: Turn, history: Sequence[Turn],
                  system_prompt: str | None) -> ChatRequest | None:
    """The request asking whether (or how much, or which way) `event` happened, or None when
    its scope shows nothing for this task."""
    scope, name = event.detection_scope, event.event_name
    settings = event.score_range_settings
    if scope == "system_prompt":
        if not system_prompt:
            return None
        what, shown, label = "an assistant's system prompt", system_prompt, "system prompt"
        start, end = "[SYSTEM PROMPT TO LABEL START]", "[SYSTEM PROMPT TO LABEL END]"
    elif scope == "task_output_only":
        if not current.output:
            return None
        what, shown, label = "a conversation between a user and an assistant", \
            f"assistant: {current.output}", "assistant message"
        start, end = "[INTERACTION TO LABEL START]", "[INTERACTION TO LABEL END]"
    else:
        what, label = "a conversation between a user and an assistant", \
            "user message" if scope == "task_input_only" else "interaction"
        shown = (f"user: {current.input}" if scope == "task_input_only" else
                 transcript([*history, current]) if scope == "session" else transcript([current]))
        start, end = "[INTERACTION TO LABEL START]", "[INTERACTION TO LABEL END]"
    system = [_INTRO.format(what=what) + _task(settings.score_type, name, label)]
    if event.description.strip():
        system += [f"'{name}' is described to you like so:", f"'{event.description.strip()}'"]
    else:
        system += [f"'{name}' has no description: rely on its name and the {label}."]
    if history and scope in ("task", "task_input_only", "task_output_only"):
        system += ["Here is the context of the conversation (earlier messages, oldest first):",
                   "[CONTEXT START]", transcript(history), "[CONTEXT END]"]
    user = [f"Label the following {label} with the event '{name}':", start, shown, end,
            *_question(event)]
    logprobs = settings.score_type != "category"
    return ChatRequest(model, (("system", "\n".join(system)), ("user", "\n".join(user))), max_tokens=5,
                       logprobs=logprobs, top_logprobs=TOP_LOGPROBS if logprobs else None)


def _task(score_type: str, name: str, label: str) -> str:
    if score_type == "range":
        return f"You must evaluate the event '{name}' in the {label}."
    if score_type == "category":
        return f"You must categorize the event '{name}' in the {label}."
    return f"You must determine whether the event '{name}' happened in the {label}."


def _question(event: EventDefinition) -> list[str]:
    settings, name = event.score_range_settings, event.event_name
    if settings.score_type == "range":
        return [f"How would you assess '{name}' here?",
                f"Respond with only a whole number between {settings.min:g} and {settings.max:g}."]
    if settings.score_type == "category":
        categories = settings.categories or ()
        return [f"Which category of '{name}' is it? The categories:",
                *(f"{number}. {category}" for number, category in enumerate(categories, 1)),
                f"Respond with only the category's number, between 1 and {len(categories)}; "
                f"respond 0 if '{name}' did not happen or fits no category."]
    return [f"Did the event '{name}' happen?", "Respond with only one word: Yes or No."]
