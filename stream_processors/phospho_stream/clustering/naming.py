"""What the LLM endpoint adds to a topics run when the config has one: embeddings of the inputs
(when `llm.embeddings_model` is set) and a short title per topic (from its examples)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..config import LLMSettings, ProjectConfig
from ..errors import LLMError
from ..llm import AnswerCache, Caller, CallFailed, Endpoint, LoopThread
from ..rules.evaluation import ChatRequest, DailyBudget

__all__ = ["TopicNamer", "TITLE_PROMPT"]

TITLE_PROMPT = ("Here are messages users sent to an assistant. They share a topic. Name the topic in at most "
                "six words, as a title. Respond with the title only.")
_EMBED_BATCH = 256
_TITLE_CHARS = 80


class TopicNamer:
    """The endpoint as a topics run uses it (its own limits; not counted in the evaluation
    stage's daily budget: a run asks one title per topic and one embedding per 256 inputs)."""

    def __init__(self, config: ProjectConfig) -> None:
        assert config.llm is not None
        self.llm: LLMSettings = config.llm
        self.loop = LoopThread("phospho-topics")
        self.endpoint = Endpoint(self.llm)
        self.caller = Caller(self.endpoint, self.llm, config.pricing, AnswerCache(1000), DailyBudget(None, 1),
                             lambda: {0}, max_attempts=3)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        model = self.llm.embeddings_model
        assert model is not None
        vectors: list[list[float]] = []
        for start in range(0, len(texts), _EMBED_BATCH):
            batch = [t[:8000] for t in texts[start:start + _EMBED_BATCH]]
            try:
                vectors += self.loop.run(self.endpoint.embed(model, batch))
            except CallFailed as exc:
                raise LLMError(f"llm.embeddings_model {model!r}: the endpoint gave no embeddings: {exc}") from None
        return vectors

    def title(self, examples: Sequence[str]) -> str | None:
        """A title for the topic of `examples`, or None when the endpoint gave none."""
        shown = "\n".join(f"- {' '.join(e.split())[:300]}" for e in examples)
        request = ChatRequest(self.llm.model, (("system", TITLE_PROMPT), ("user", shown)), max_tokens=20)
        try:
            reply = self.loop.run(self.caller.ask(request, 0, "topics"))
        except CallFailed:
            return None
        title = re.sub(r"^(?:title|topic)\s*:\s*", "", reply.answer.text.strip().splitlines()[0] if
                       reply.answer.text.strip() else "", flags=re.I).strip(" \"'*`.")
        return title[:_TITLE_CHARS] or None

    def close(self) -> None:
        try:
            self.loop.run(self.endpoint.close())
        finally:
            self.loop.close()
