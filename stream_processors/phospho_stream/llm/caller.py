"""Asking the endpoint without losing an answer or paying twice for one: identical requests are
answered from the cache (and asked once when several wait at the same time); a call that fails
for a passing reason, or because the endpoint refuses everyone, is tried again with backoff,
waiting at least what Retry-After says; no call starts once the day's budget is spent, until
the next UTC day. Only a request the endpoint rejects as such (HTTP 400, 413, 422...) fails."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_never,
    wait_exponential_jitter,
)

from ..config import LLMSettings, ModelPrice
from ..errors import LLMError
from ..rules.analytics.cost import call_cost
from ..rules.analytics.usage import TokenUsage, token_usage
from ..rules.evaluation import ChatRequest, DailyBudget, next_utc_midnight
from .cache import AnswerCache, CachedAnswer
from .endpoint import Answer, CallFailed, Endpoint
from .limits import Limiter

__all__ = ["Caller", "Reply", "CallStats", "check_priced"]

#: the longest Retry-After honoured as it is (a longer one is cut to this)
MAX_RETRY_AFTER_S = 3600.0


@dataclass
class CallStats:
    calls: int = 0  # requests sent (each attempt)
    answered: int = 0
    cache_hits: int = 0
    retries: int = 0
    rejected: int = 0  # requests the endpoint refused as such (not retried)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    waiting: str | None = None  # why calls do not start now ("daily budget ...")
    last_error: str | None = None
    last_error_at_ms: int | None = None
    last_answer_at_ms: int | None = None
    retry_waits: list[float] = field(default_factory=list)  # the last waits chosen (seconds)


@dataclass(frozen=True, slots=True)
class Reply:
    answer: Answer
    cost_usd: float | None  # what this job paid (0 when another job's answer was reused)
    cached: bool
    at_ms: int  # when the answer came


def _tokens(answer: Answer, request: ChatRequest) -> tuple[TokenUsage, bool]:
    """The usage the endpoint reported, or an estimate (4 characters a token) when it gave none."""
    reported = token_usage(answer.usage)
    if reported is not None:
        return reported, True
    return TokenUsage(request.prompt_chars // 4 + 1, len(answer.text) // 4 + 1), False


def check_priced(settings: LLMSettings, pricing: Mapping[str, ModelPrice]) -> None:
    """A daily budget needs the model's price: refuse to start without one."""
    if settings.daily_budget_usd is None:
        return
    cost = call_cost(settings.model, None, TokenUsage(1000, 100), pricing, datetime.now(UTC))
    if cost.usd is None:
        raise LLMError(f"llm.daily_budget_usd: cannot price the model {settings.model!r} ({cost.note}); give its "
                       "price under `pricing:` (USD per million input and output tokens)")


class Caller:
    def __init__(self, endpoint: Endpoint, settings: LLMSettings, pricing: Mapping[str, ModelPrice],
                 cache: AnswerCache, budget: DailyBudget, owned: Callable[[], set[int]],
                 clock: Callable[[], float] = time.time, max_attempts: int | None = None) -> None:
        """`max_attempts` bounds the attempts of a failing call (None: until it succeeds, as a
        stage that must not lose an evaluation does; a one-off job gives up)."""
        self.endpoint, self.settings, self.pricing = endpoint, settings, pricing
        self._stop = stop_after_attempt(max_attempts) if max_attempts else stop_never
        self.cache, self.budget, self.owned, self.clock = cache, budget, owned, clock
        self.limiter = Limiter(settings.max_concurrency, settings.requests_per_minute)
        self.stats = CallStats()
        self._asked: dict[str, asyncio.Future[CachedAnswer]] = {}
        self._backoff = wait_exponential_jitter(multiplier=0.5, max=settings.retry_max_wait_s, jitter=0.5)

    @property
    def in_flight(self) -> int:
        return self.limiter.in_flight

    async def ask(self, request: ChatRequest, partition: int, payer: str) -> Reply:
        """The answer to `request` for the job `payer` of input `partition`; raises CallFailed
        (kind request) only when the endpoint rejects the request itself."""
        key = request.key()
        entry = self.cache.get(key)
        if entry is None and key in self._asked:  # the same request is on its way for another job
            entry = await asyncio.shield(self._asked[key])
        if entry is not None:
            self.stats.cache_hits += 1
            return Reply(entry.answer, entry.cost_usd if entry.payer == payer else 0.0, True,
                         entry.at_ms if entry.payer == payer else int(self.clock() * 1000))
        future: asyncio.Future[CachedAnswer] = asyncio.get_running_loop().create_future()
        self._asked[key] = future
        try:
            entry = await self._call(request, partition, payer)
            self.cache.put(key, entry)
            future.set_result(entry)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the waiters, if any, get it; none is fine too
            raise
        finally:
            del self._asked[key]
        return Reply(entry.answer, entry.cost_usd, False, entry.at_ms)

    async def _call(self, request: ChatRequest, partition: int, payer: str) -> CachedAnswer:
        retrying = AsyncRetrying(stop=self._stop, wait=self._wait, reraise=True, before_sleep=self._before_sleep,
                                 retry=retry_if_exception(lambda e: isinstance(e, CallFailed) and e.kind != "request"))
        try:
            async for attempt in retrying:
                with attempt:
                    async with self.limiter.slot():
                        await self._within_budget()  # in the slot: the calls before it have been counted
                        self.stats.calls += 1
                        try:
                            answer = await self.endpoint.chat(request)
                        except CallFailed as exc:
                            if exc.retry_after:
                                self.limiter.pause(min(exc.retry_after, MAX_RETRY_AFTER_S))
                            self._error(str(exc))
                            raise
        except CallFailed:
            self.stats.rejected += 1
            raise
        now = self.clock()
        tokens, reported = _tokens(answer, request)
        cost = call_cost(self.settings.model, None, tokens, self.pricing, datetime.fromtimestamp(now, UTC))
        if cost.usd is None and answer.model != self.settings.model:
            cost = call_cost(answer.model, None, tokens, self.pricing, datetime.fromtimestamp(now, UTC))
        self.budget.add(partition, now, cost.usd or 0.0)
        self.stats.answered += 1
        self.stats.last_answer_at_ms = int(time.time() * 1000)
        self.stats.input_tokens += tokens.input_tokens
        self.stats.output_tokens += tokens.output_tokens
        self.stats.cost_usd += cost.usd or 0.0
        return CachedAnswer(answer, cost.usd, payer, int(now * 1000), partition)

    async def _within_budget(self) -> None:
        """Wait (in steps of at most a second, so that the clock may jump) while today's budget is spent."""
        while True:
            now = self.clock()
            answered = max(1, self.stats.answered)
            in_flight = (self.limiter.in_flight - 1) * self.stats.cost_usd / answered  # the others' calls
            if not self.budget.exhausted(now, self.owned(), in_flight):
                if self.stats.waiting and self.stats.waiting.startswith("daily budget"):
                    self.stats.waiting = None
                return
            allowance = self.budget.allowance(self.owned()) or 0.0
            resume = datetime.fromtimestamp(next_utc_midnight(now), UTC).strftime("%Y-%m-%d %H:%M UTC")
            self.stats.waiting = (f"daily budget reached: ${self.budget.spent(now, self.owned()):.4f} of "
                                  f"${allowance:.4f} spent today; calls resume at {resume}")
            await asyncio.sleep(min(1.0, max(0.01, next_utc_midnight(now) - now)))

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        retry_after = getattr(exc, "retry_after", None)
        wait = min(retry_after, MAX_RETRY_AFTER_S) if retry_after else self._backoff(state)
        self.stats.retry_waits = [*self.stats.retry_waits[-19:], wait]
        return wait

    async def _before_sleep(self, state: RetryCallState) -> None:
        self.stats.retries += 1

    def _error(self, message: str) -> None:
        self.stats.last_error = message
        self.stats.last_error_at_ms = int(time.time() * 1000)
