"""The LLM endpoint as the stages use it: any OpenAI-compatible server through the `openai`
client, with limits, retries honouring Retry-After, an answer cache and a daily budget."""

from .cache import AnswerCache, CachedAnswer
from .caller import Caller, CallStats, Reply, check_priced
from .endpoint import Answer, CallFailed, Endpoint, api_key_of, retry_after_seconds
from .limits import Limiter
from .loop import LoopThread

__all__ = ["Endpoint", "Answer", "CallFailed", "Caller", "CallStats", "Reply", "AnswerCache", "CachedAnswer",
           "Limiter", "LoopThread", "api_key_of", "retry_after_seconds", "check_priced"]
