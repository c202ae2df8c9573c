"""The project config (events, pricing, analytics, llm, evaluation, privacy) and its version hash."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from phospho.redaction import RuleError, check_rules

from .errors import ConfigFieldError
from .events import EventDefinition
from .privacy import PrivacySettings

__all__ = ["ProjectConfig", "ModelPrice", "AnalyticsSettings", "SentimentThreshold", "LLMSettings",
           "EvaluationSettings"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelPrice(_Section):
    """A model's price in USD per million tokens; cached input defaults to the input price."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)


class SentimentThreshold(_Section):
    """phospho's label rule: score > t positive, < -t negative, else magnitude < m neutral, else mixed."""

    score: float = Field(default=0.3, ge=0, le=1)
    magnitude: float = Field(default=0.6, ge=0)


class AnalyticsSettings(_Section):
    """The analytics stage's switches and bounds."""

    language: bool = True
    sentiment: bool = True
    #: characters of each field (input, output, system prompt) analysed; the rest is cut and said so
    max_chars: int = Field(default=2000, ge=100, le=1_000_000)
    #: earlier tasks of the session that session-scope detection sees
    session_history: int = Field(default=10, ge=0, le=1000)
    #: the bound on one regex search; a search that runs longer is an error for that (task, event)
    regex_timeout_ms: float = Field(default=20.0, gt=0, le=10_000)
    sentiment_threshold: SentimentThreshold = SentimentThreshold()


class LLMSettings(_Section):
    """An OpenAI-compatible endpoint (OpenAI, Ollama, vLLM...) for LLM events and evaluation."""

    base_url: str | None = None
    model: str = Field(min_length=1)
    #: the environment variable holding the API key (none for a local server)
    api_key_env: str | None = None
    max_concurrency: int = Field(default=4, ge=1, le=1024)
    requests_per_minute: float | None = Field(default=None, gt=0)
    timeout_s: float = Field(default=30.0, gt=0)
    daily_budget_usd: float | None = Field(default=None, ge=0)
    embeddings_model: str | None = None
    #: earlier tasks of the session a prompt shows (evaluation, task and session-scope events)
    context_tasks: int = Field(default=10, ge=0, le=200)
    #: characters of each text (input, output, system prompt) a prompt shows; the rest is cut
    max_chars: int = Field(default=4000, ge=100, le=1_000_000)
    #: answers kept for identical requests (0: no cache)
    cache_entries: int = Field(default=20_000, ge=0, le=10_000_000)
    #: the longest wait between two attempts of a call that failed for a passing reason
    retry_max_wait_s: float = Field(default=60.0, gt=0, le=3600)

    @field_validator("base_url")
    @classmethod
    def _http(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an http(s) URL")
        return url

    @field_validator("api_key_env")
    @classmethod
    def _variable_name(cls, name: str | None) -> str | None:
        if name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"{name!r} is not an environment variable's name (it names the variable "
                             "holding the key, never the key itself)")
        return name


class EvaluationSettings(_Section):
    """LLM evaluation of every task (success / failure), with few-shot examples from feedback."""

    enabled: bool = True
    #: examples from tasks users flagged, as many successes as failures (an odd number rounds down)
    few_shot: int = Field(default=6, ge=0, le=100)
    #: what the judge is told a good answer is (default: helpful, correct, relevant, appropriate)
    guidelines: str | None = Field(default=None, max_length=20_000)


class ProjectConfig(_Section):
    """The whole project config. `config_version` hashes what makes analytics rows reproducible."""

    events: tuple[EventDefinition, ...] = ()
    #: model name (as logged, matched case-insensitively) -> price, before genai-prices' table
    pricing: dict[str, ModelPrice] = Field(default_factory=dict)
    analytics: AnalyticsSettings = AnalyticsSettings()
    llm: LLMSettings | None = None
    evaluation: EvaluationSettings | None = None
    privacy: PrivacySettings = PrivacySettings()
    _version: str = PrivateAttr(default="")

    @field_validator("pricing")
    @classmethod
    def _lowercase_models(cls, pricing: dict[str, ModelPrice]) -> dict[str, ModelPrice]:
        lowered = {name.strip().lower(): price for name, price in pricing.items()}
        if len(lowered) != len(pricing):
            raise ValueError("two models differ only by case or spaces")
        return lowered

    @model_validator(mode="after")
    def _across_sections(self) -> ProjectConfig:
        seen: dict[str, int] = {}
        for index, event in enumerate(self.events):
            if event.event_name in seen:
                raise ConfigFieldError(("events", index, "event_name"),
                                       f"{event.event_name!r} is already events[{seen[event.event_name]}]")
            seen[event.event_name] = index
            if event.detection_engine == "llm_detection" and self.llm is None:
                raise ConfigFieldError(
                    ("events", index, "detection_engine"),
                    "llm_detection needs an `llm:` section (base_url, model...); use "
                    "keyword_detection or regex_detection until then")
        if self.evaluation is not None and self.evaluation.enabled and self.llm is None:
            raise ConfigFieldError(("evaluation",), "evaluation needs an `llm:` section (base_url, model...)")
        try:
            check_rules(self.privacy.redact)
        except RuleError as exc:
            raise ConfigFieldError(("privacy", "redact", exc.index) + ((exc.field,) if exc.field else ()),
                                   exc.problem) from None
        self._version = _short_hash(self._fingerprint())
        return self

    @property
    def active_events(self) -> tuple[EventDefinition, ...]:
        """The definitions to run: every one not marked `removed`."""
        return tuple(event for event in self.events if not event.removed)

    @property
    def llm_events(self) -> tuple[EventDefinition, ...]:
        """The active definitions an LLM detects (detection_engine llm_detection)."""
        return tuple(event for event in self.active_events if event.detection_engine == "llm_detection")

    @property
    def config_version(self) -> str:
        """12 hex characters, the same for every config that yields the same analytics rows."""
        return self._version

    def _fingerprint(self) -> dict[str, Any]:
        llm = self.llm.model_dump(mode="json", include={"base_url", "model", "embeddings_model", "context_tasks",
                                                        "max_chars"}) if self.llm else None
        fingerprint = {
            "events": sorted((event.fingerprint() for event in self.events), key=lambda e: e["event_name"]),
            "pricing": {name: price.model_dump(mode="json") for name, price in sorted(self.pricing.items())},
            "analytics": self.analytics.model_dump(mode="json"),
            "llm": llm,
            "evaluation": self.evaluation.model_dump(mode="json") if self.evaluation else None,
        }
        if self.privacy.redact:  # in their order (it breaks ties); no rules: the version is unchanged
            fingerprint["privacy_redact"] = [rule.fingerprint() for rule in self.privacy.redact]
        return fingerprint


def _short_hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
