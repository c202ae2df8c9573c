"""A chat completion request as data, and its content hash (the answer cache's key)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import orjson

__all__ = ["ChatRequest", "Message"]

#: a chat message: (role, content)
Message = tuple[str, str]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What is sent to the endpoint; two equal requests get the same answer (temperature 0)."""

    model: str
    messages: tuple[Message, ...]
    max_tokens: int
    logprobs: bool = False
    top_logprobs: int | None = None

    def key(self) -> str:
        """The sha256 of the request's canonical JSON: equal requests, equal keys."""
        return hashlib.sha256(orjson.dumps([self.model, self.messages, self.max_tokens, self.logprobs,
                                            self.top_logprobs])).hexdigest()

    def params(self) -> dict[str, Any]:
        """Keyword arguments of `chat.completions.create`."""
        params: dict[str, Any] = {
            "model": self.model, "temperature": 0, "max_tokens": self.max_tokens,
            "messages": [{"role": role, "content": content} for role, content in self.messages]}
        if self.logprobs:
            params["logprobs"] = True
            if self.top_logprobs:
                params["top_logprobs"] = self.top_logprobs
        return params

    def followed_by(self, *messages: Message) -> ChatRequest:
        """The same request with more messages after its own."""
        return replace(self, messages=self.messages + tuple(messages))

    @property
    def prompt_chars(self) -> int:
        return sum(len(content) for _, content in self.messages)
