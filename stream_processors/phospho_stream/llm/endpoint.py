"""One call to an OpenAI-compatible endpoint through the `openai` client, and what its failure
means: passing (retry), refused (the endpoint or its configuration: retry, and say so), or
the request itself (retrying cannot help)."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import openai
from openai.types.chat import ChatCompletion

from ..config import LLMSettings
from ..errors import LLMError
from ..rules.evaluation import ChatRequest

__all__ = ["Endpoint", "Answer", "CallFailed", "api_key_of", "retry_after_seconds"]

#: statuses that say the endpoint or its configuration refuses every call until someone acts
_REFUSED = (401, 403, 404)
#: statuses that pass
_PASSING = (408, 409, 425, 429)


@dataclass(frozen=True, slots=True)
class Answer:
    """A completion: its text, the first token's alternatives (when asked for and given), the
    usage the endpoint reported, and the model that answered."""

    text: str
    top_logprobs: tuple[tuple[str, float], ...] | None
    usage: dict[str, Any] | None
    model: str


class CallFailed(Exception):
    """A call that failed; `kind` says what to do: passing (retry), refused (retry and report),
    request (give up on this request). str() is one line."""

    def __init__(self, kind: Literal["passing", "refused", "request"], message: str,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind, self.retry_after = kind, retry_after


def api_key_of(settings: LLMSettings) -> str:
    """The key from the variable `api_key_env` names; a local server needs none."""
    if settings.api_key_env is None:
        return "no-key"  # the client wants a string; a local server reads none
    key = os.environ.get(settings.api_key_env, "").strip()
    if not key:
        raise LLMError(f"llm.api_key_env: the environment variable {settings.api_key_env} is not set "
                       "(export the endpoint's key in it, or leave api_key_env out for a local server)")
    return key


def retry_after_seconds(headers: Any, now_s: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds, or an HTTP date)."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            try:
                seconds = parsedate_to_datetime(value).timestamp() - (time.time() if now_s is None else now_s)
            except (TypeError, ValueError):
                continue
        if math.isfinite(seconds):
            return max(0.0, seconds)
    return None


class Endpoint:
    """The `openai` client on `base_url`, its own retries off (the caller retries, honouring
    Retry-After and the daily budget between attempts)."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self._client = openai.AsyncOpenAI(api_key=api_key_of(settings), base_url=settings.base_url,
                                          timeout=settings.timeout_s, max_retries=0)

    async def chat(self, request: ChatRequest) -> Answer:
        try:
            # the client's plain POST: `request.params()` is the wire body already, and the typed
            # `chat.completions.create` spends ~1 ms per call turning its arguments into that body
            response = await self._client.post("/chat/completions", cast_to=ChatCompletion, body=request.params())
        except openai.APIStatusError as exc:
            raise _failure(exc) from None
        except openai.APITimeoutError:
            raise CallFailed("passing", f"no answer within {self.settings.timeout_s:g} s") from None
        except openai.APIConnectionError as exc:
            raise CallFailed("passing", f"cannot reach {self.settings.base_url or 'the endpoint'}: "
                             f"{_cause(exc)}") from None
        except openai.APIResponseValidationError as exc:
            raise CallFailed("passing", f"an answer the client cannot read: {exc}") from None
        if not response.choices:
            raise CallFailed("passing", "an answer without choices")
        choice = response.choices[0]
        top = None
        if request.logprobs and choice.logprobs is not None and choice.logprobs.content:
            top = tuple((t.token, t.logprob) for t in choice.logprobs.content[0].top_logprobs)
        usage = response.usage.model_dump(exclude_none=True) if response.usage is not None else None
        return Answer(choice.message.content or "", top or None, usage, response.model or request.model)

    async def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        try:
            response = await self._client.embeddings.create(model=model, input=texts)
        except openai.APIStatusError as exc:
            raise _failure(exc) from None
        except openai.APIConnectionError as exc:
            raise CallFailed("passing", f"cannot reach {self.settings.base_url or 'the endpoint'}: "
                             f"{_cause(exc)}") from None
        return [item.embedding for item in sorted(response.data, key=lambda d: d.index)]

    async def close(self) -> None:
        await self._client.close()


def _failure(exc: openai.APIStatusError) -> CallFailed:
    status = exc.status_code
    message = f"HTTP {status}: {_body_message(exc)}"
    if status in _PASSING or status >= 500:
        return CallFailed("passing", message, retry_after_seconds(exc.response.headers))
    if status in _REFUSED:
        return CallFailed("refused", message, retry_after_seconds(exc.response.headers))
    return CallFailed("request", message)


def _body_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return " ".join(str(error["message"]).split())[:200]
    return " ".join(str(exc.message).split())[:200]


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return " ".join(str(cause or exc).split())[:200] or type(exc).__name__
