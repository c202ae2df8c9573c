"""An event definition in phospho's EventDefinition shape, checked when the config loads."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

import regex
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

__all__ = ["EventDefinition", "ScoreRangeSettings", "DetectionEngine", "DetectionScope", "ScoreType",
           "parse_keywords"]

DetectionEngine = Literal["keyword_detection", "regex_detection", "llm_detection"]
DetectionScope = Literal["task", "session", "task_input_only", "task_output_only", "system_prompt"]
ScoreType = Literal["confidence", "range", "category"]

#: fields of phospho's exported definitions that are bookkeeping there and mean nothing here
_PHOSPHO_BOOKKEEPING = ("id", "created_at", "org_id", "project_id", "event_version_id", "recipe_id",
                        "recipe_type")


def parse_keywords(keywords: str) -> tuple[str, ...]:
    """'refund, money back' -> ('refund', 'money back'); an empty piece is refused."""
    pieces = tuple(piece.strip() for piece in keywords.split(","))
    for number, piece in enumerate(pieces, 1):
        if not piece:
            raise ValueError(f"keyword {number} of {len(pieces)} is empty (two commas in a row, or a "
                             "comma at an end?)")
    return pieces


class ScoreRangeSettings(BaseModel):
    """How an event is scored: confidence 0..1, a range (1..5 by default) or categories."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    score_type: ScoreType = "confidence"
    min: float = 0.0
    max: float = 1.0
    categories: tuple[str, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _defaults_per_type(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("categories"), str):  # phospho's UI types them as a comma list
            data["categories"] = [c for c in data["categories"].split(",") if c.strip()]
        kind = data.get("score_type", "confidence")
        if kind == "range":
            data.setdefault("min", 1.0)
            data.setdefault("max", 5.0)
        elif kind == "category" and isinstance(data.get("categories"), list | tuple):
            data.setdefault("min", 1.0)
            data.setdefault("max", float(len(data["categories"])))
        return data

    @field_validator("categories")
    @classmethod
    def _trimmed(cls, categories: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if categories is None:
            return None
        cleaned = tuple(c.strip() for c in categories)
        if any(not c for c in cleaned):
            raise ValueError("a category is empty")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("categories repeat a name")
        return cleaned

    @model_validator(mode="after")
    def _consistent(self) -> ScoreRangeSettings:
        if self.score_type == "category" and (not self.categories or len(self.categories) < 2):
            raise ValueError("score_type category needs at least 2 categories")
        if self.min >= self.max:
            raise ValueError(f"min ({self.min:g}) must be below max ({self.max:g})")
        if self.score_type == "confidence" and (self.min, self.max) != (0.0, 1.0):
            raise ValueError("a confidence score is 0..1: leave min and max out")
        if self.score_type == "category":
            if (self.min, self.max) != (1.0, float(len(self.categories))):
                raise ValueError("a category score is 1..number of categories: leave min and max out")
        elif self.categories:
            raise ValueError(f"categories are only read when score_type is category, not {self.score_type}")
        return self


class EventDefinition(BaseModel):
    """One event to detect, as phospho defines it (Project.settings.events)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_name: str = Field(min_length=1, max_length=100)
    description: str = ""
    detection_engine: DetectionEngine
    detection_scope: DetectionScope = "task"
    keywords: str | None = None
    regex_pattern: str | None = None
    score_range_settings: ScoreRangeSettings = ScoreRangeSettings()
    webhook: str | None = None
    webhook_headers: dict[str, str] | None = None
    is_last_task: bool = False
    removed: bool = False
    _keywords: tuple[str, ...] = PrivateAttr(default=())
    _pattern: regex.Pattern[str] | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _phospho_shape(cls, data: Any) -> Any:
        """Drop phospho's bookkeeping fields; infer the engine when it is not given."""
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if k not in _PHOSPHO_BOOKKEEPING}
        if isinstance(data.get("keywords"), list):
            if any(not isinstance(k, str) or "," in k for k in data["keywords"]):
                raise ValueError("keywords: a list of keywords holds strings without commas")
            data["keywords"] = ", ".join(data["keywords"])
        if "detection_engine" not in data:
            data["detection_engine"] = ("keyword_detection" if data.get("keywords") else
                                        "regex_detection" if data.get("regex_pattern") else
                                        "llm_detection")
        return data

    @field_validator("event_name")
    @classmethod
    def _one_line_name(cls, name: str) -> str:
        name = name.strip()
        if not name or any(ord(c) < 32 for c in name):
            raise ValueError("an event name is one non-empty line")
        return name

    @field_validator("keywords")
    @classmethod
    def _keyword_list(cls, keywords: str | None) -> str | None:
        if keywords:
            parse_keywords(keywords)
        return keywords

    @field_validator("regex_pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern:
            try:
                compiled = regex.compile(pattern)
            except regex.error as exc:
                raise ValueError(str(exc)) from None
            if compiled.search("") is not None:
                raise ValueError("the pattern matches an empty text, so it would match every task")
        return pattern

    @field_validator("webhook")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"{url!r} is not an http(s) URL")
        return url or None

    @model_validator(mode="after")
    def _engine_fields(self) -> EventDefinition:
        engine = self.detection_engine
        if engine == "keyword_detection" and not self.keywords:
            raise ValueError("keyword_detection needs keywords (comma-separated)")
        if engine == "regex_detection" and not self.regex_pattern:
            raise ValueError("regex_detection needs a non-empty regex_pattern")
        if self.keywords and engine != "keyword_detection":
            raise ValueError(f"keywords are only read by keyword_detection, not {engine}")
        if self.regex_pattern and engine != "regex_detection":
            raise ValueError(f"regex_pattern is only read by regex_detection, not {engine}")
        if self.keywords:
            self._keywords = parse_keywords(self.keywords)
        if self.regex_pattern:
            self._pattern = regex.compile(self.regex_pattern)
        return self

    @property
    def keyword_list(self) -> tuple[str, ...]:
        """The keywords, stripped, in their order (empty unless keyword_detection)."""
        return self._keywords

    @property
    def pattern(self) -> regex.Pattern[str] | None:
        """The compiled regex_pattern (the `regex` module, Python `re` syntax), or None."""
        return self._pattern

    def fingerprint(self) -> dict[str, Any]:
        """What decides this definition's detections (webhooks and display flags left out)."""
        return self.model_dump(mode="json", include={
            "event_name", "description", "detection_engine", "detection_scope", "keywords",
            "regex_pattern", "score_range_settings", "removed"})
