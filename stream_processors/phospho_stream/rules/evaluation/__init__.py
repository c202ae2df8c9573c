"""LLM evaluation and LLM event detection as pure functions: prompts, strict answer parsing,
the few-shot pool, the daily budget."""

from .budget import DailyBudget, next_utc_midnight, utc_day
from .event_prompt import TOP_LOGPROBS, event_request
from .examples import ExamplePool
from .judge_prompt import DEFAULT_GUIDELINES, PROMPT_VERSION, REPAIR_MESSAGE, judge_request
from .parse import REASON_CHARS, parse_event, parse_verdict
from .records import EventScore, Example, Flag, Turn, Unparseable, Verdict, transcript
from .request import ChatRequest, Message

__all__ = [
    "judge_request", "event_request", "parse_verdict", "parse_event", "ExamplePool", "DailyBudget",
    "ChatRequest", "Message", "Turn", "Example", "Verdict", "EventScore", "Unparseable", "Flag", "transcript",
    "PROMPT_VERSION", "DEFAULT_GUIDELINES", "REPAIR_MESSAGE", "REASON_CHARS", "TOP_LOGPROBS", "utc_day",
    "next_utc_midnight", "EVALUATION_RULES_VERSION", "evaluation_version",
]

#: the version of these rules; with the config's version it tags the evaluation's event rows
EVALUATION_RULES_VERSION = f"l1{PROMPT_VERSION}"


def evaluation_version(config_version: str) -> str:
    """What the evaluation stage's event rows carry in analytics_version."""
    return f"{EVALUATION_RULES_VERSION}-{config_version}"
