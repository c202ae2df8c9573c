"""A task's LLM work: its evaluation and its LLM events, each one request asked through the
caller, its answer read strictly; an unreadable answer is asked once more (the answer shown
back with the format asked again), then given up on with the reason."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...config import EventDefinition, ProjectConfig
from ...llm import Caller, CallFailed, Reply
from ...rules.analytics import TaskText, clean_text
from ...rules.evaluation import (
    REPAIR_MESSAGE,
    ChatRequest,
    EventScore,
    ExamplePool,
    Turn,
    Unparseable,
    Verdict,
    event_request,
    judge_request,
    parse_event,
    parse_verdict,
)

__all__ = ["TaskJobs", "Judged", "Detected", "plan_task"]


@dataclass(slots=True)
class Judged:
    """The evaluation's outcome: a verdict, or `undefined` with the reason."""

    flag: str
    reason: str
    cost_usd: float | None
    at_ms: int
    cached: bool


@dataclass(slots=True)
class Detected:
    event: EventDefinition
    score: EventScore | None  # None: no answer could be read (see error)
    error: str | None
    cost_usd: float | None


@dataclass(slots=True)
class TaskJobs:
    """One task's requests, and once run, their outcomes."""

    record: dict[str, Any]
    partition: int
    judge: ChatRequest | None
    events: list[tuple[EventDefinition, ChatRequest]]
    judged: Judged | None = None
    detected: list[Detected] = field(default_factory=list)

    @property
    def task_id(self) -> str:
        return self.record["task_id"]

    @property
    def cost_usd(self) -> float | None:
        costs = [c for c in ([self.judged.cost_usd] if self.judged else []) + [d.cost_usd for d in self.detected]
                 if c is not None]
        return sum(costs) if costs else None

    async def run(self, caller: Caller) -> None:
        work = [self._judge(caller)] if self.judge is not None else []
        work += [self._detect(caller, event, request) for event, request in self.events]
        await asyncio.gather(*work)

    async def _judge(self, caller: Caller) -> None:
        assert self.judge is not None
        asked = await _ask(caller, self.judge, self.partition, f"{self.task_id}:judge", parse_verdict)
        at_ms, cached = (asked.reply.at_ms, asked.reply.cached) if asked.reply else (0, False)
        if isinstance(asked.parsed, Verdict):
            self.judged = Judged(asked.parsed.flag, asked.parsed.reason, asked.cost_usd, at_ms, cached)
        else:
            self.judged = Judged("undefined", asked.error or "no answer", asked.cost_usd, at_ms, cached)

    async def _detect(self, caller: Caller, event: EventDefinition, request: ChatRequest) -> None:
        settings = event.score_range_settings
        asked = await _ask(caller, request, self.partition, f"{self.task_id}:event:{event.event_name}",
                           lambda text, top=None: parse_event(settings, text, top))
        score = asked.parsed if isinstance(asked.parsed, EventScore) else None
        self.detected.append(Detected(event, score, asked.error, asked.cost_usd))


@dataclass(slots=True)
class _Asked:
    reply: Reply | None = None  # the last one
    parsed: Any = None  # None: see error
    error: str | None = None
    costs: list[float | None] = field(default_factory=list)

    @property
    def cost_usd(self) -> float | None:
        known = [c for c in self.costs if c is not None]
        return sum(known) if known else None


async def _ask(caller: Caller, request: ChatRequest, partition: int, payer: str, parse: Any) -> _Asked:
    """The request's answer, read by `parse`; an unreadable one is asked once more."""
    asked = _Asked()
    try:
        asked.reply = await caller.ask(request, partition, payer)
        asked.costs.append(asked.reply.cost_usd)
        try:
            asked.parsed = _parse(parse, asked.reply, request)
            return asked
        except Unparseable as first:
            repair = request.followed_by(("assistant", asked.reply.answer.text), ("user", REPAIR_MESSAGE))
            asked.reply = await caller.ask(repair, partition, payer)
            asked.costs.append(asked.reply.cost_usd)
            try:
                asked.parsed = _parse(parse, asked.reply, repair)
            except Unparseable as second:
                asked.error = f"unreadable answer, twice: {first}; then {second}"
    except CallFailed as exc:
        asked.error = f"the endpoint rejected the request: {exc}"
    return asked


def _parse(parse: Any, reply: Reply, request: ChatRequest) -> Any:
    if request.logprobs:
        return parse(reply.answer.text, reply.answer.top_logprobs)
    return parse(reply.answer.text)


def _turn(text: TaskText | dict[str, Any], max_chars: int) -> Turn:
    get = text.get if isinstance(text, dict) else lambda name: getattr(text, name)
    output = get("output")
    return Turn(str(get("task_id")), clean_text(get("input"), max_chars)[0],
                None if output is None else clean_text(output, max_chars)[0], get("created_at_ms") or 0)


def plan_task(record: dict[str, Any], partition: int, earlier: Sequence[TaskText], config: ProjectConfig,
              pool: ExamplePool) -> TaskJobs:
    """The requests for a task record, given its session's kept tasks (any order)."""
    llm = config.llm
    assert llm is not None
    current = _turn(record, llm.max_chars)
    at = current.created_at_ms
    before = sorted((t for t in earlier if t.task_id != current.task_id and (t.created_at_ms or 0) <= at),
                    key=lambda t: (t.created_at_ms or 0, t.task_id))
    history = [_turn(t, llm.max_chars) for t in before[len(before) - llm.context_tasks:]] if llm.context_tasks else []
    system_prompt = clean_text(record.get("system_prompt"), llm.max_chars)[0] or None
    judge = None
    evaluation = config.evaluation
    if evaluation is not None and evaluation.enabled:
        examples = pool.pick(evaluation.few_shot, exclude=current.task_id)
        judge = judge_request(llm.model, current, history, system_prompt, examples, evaluation.guidelines)
    events = [(event, request) for event in config.llm_events
              if (request := event_request(llm.model, event, current, history, system_prompt)) is not None]
    return TaskJobs(record, partition, judge, events)
