"""One task's analytics: language, sentiment, keyword and regex events, cost. Never raises.

Each step runs on its own: one that fails leaves its fields None and an entry in `errors`, the
others still run. Language and sentiment read the user's input; events read their scopes.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...config import ProjectConfig
from .cost import task_cost
from .detection import Detector
from .language import detect_language
from .records import Analysis, AnalysisError, Detection, TaskText
from .scopes import PreparedTask, ScopeTexts
from .sentiment import analyze_sentiment
from .text import clean_text

__all__ = ["analyze", "RULES_VERSION", "analytics_version"]

#: the version of these rules; with the config's version it makes `analytics_version`
RULES_VERSION = "r1"
#: compiled detectors of the configs seen last (keyed by config_version)
_DETECTORS: dict[str, Detector] = {}
_DETECTORS_KEPT = 8


def analytics_version(config: ProjectConfig) -> str:
    """What every analytics row carries: these rules' version and the config's hash."""
    return f"{RULES_VERSION}-{config.config_version}"


def analyze(task: TaskText, history: Sequence[TaskText], config: ProjectConfig) -> Analysis:
    """The analytics of `task`; `history` holds earlier tasks of its session (any order, any
    number: the last analytics.session_history before it are used, for session-scope events)."""
    settings = config.analytics
    errors: list[AnalysisError] = []
    current, truncated = _prepare(task, settings.max_chars)

    language: str | None = None
    try:
        if settings.language or settings.sentiment:
            language = detect_language(current.input)
    except Exception as exc:  # noqa: BLE001 - a failing step must not lose the task
        errors.append(AnalysisError("language", repr(exc)))

    sentiment = None
    if settings.sentiment:
        threshold = settings.sentiment_threshold
        try:
            sentiment = analyze_sentiment(current.input, language or "", threshold.score,
                                          threshold.magnitude)
        except Exception as exc:  # noqa: BLE001
            errors.append(AnalysisError("sentiment", repr(exc)))

    events: list[Detection] = []
    try:
        detector = _detector(config)
        if detector.scopes:
            texts = ScopeTexts(current, lambda: _history(task, history, settings.session_history,
                                                         settings.max_chars))
            events, failed = detector.detect(texts)
            errors.extend(failed)
    except Exception as exc:  # noqa: BLE001
        errors.append(AnalysisError("event", repr(exc)))

    cost_usd, cost_note = None, None
    try:
        cost = task_cost(task.model, task.usage, task.span_usages or (), config.pricing,
                         _ms(task.created_at_ms))
        cost_usd, cost_note = cost.usd, cost.note
    except Exception as exc:  # noqa: BLE001
        errors.append(AnalysisError("cost", repr(exc)))

    return Analysis(
        task_id=str(task.task_id), analytics_version=analytics_version(config),
        language=language if settings.language else None,
        sentiment_score=sentiment.score if sentiment else None,
        sentiment_magnitude=sentiment.magnitude if sentiment else None,
        sentiment_label=sentiment.label if sentiment else None,
        sentiment_method=sentiment.method if sentiment else None,
        events=tuple(events), cost_usd=cost_usd, cost_note=cost_note, truncated=truncated,
        errors=tuple(errors))


def _prepare(task: TaskText, max_chars: int) -> tuple[PreparedTask, tuple[str, ...]]:
    texts: dict[str, str] = {}
    truncated: list[str] = []
    for name in ("input", "output", "system_prompt"):
        try:
            texts[name], cut = clean_text(getattr(task, name), max_chars)
        except Exception:  # noqa: BLE001 - a value no rule can read is analysed as no text
            texts[name], cut = "", False
        if cut:
            truncated.append(name)
    return PreparedTask(**texts), tuple(truncated)


def _history(task: TaskText, history: Sequence[TaskText], keep: int,
             max_chars: int) -> list[PreparedTask]:
    """The last `keep` tasks before `task` (same time included), oldest first, prepared."""
    if keep <= 0:
        return []
    now = _ms(task.created_at_ms)
    earlier = sorted((t for t in history if isinstance(t, TaskText) and t.task_id != task.task_id
                      and _ms(t.created_at_ms) <= now), key=lambda t: _ms(t.created_at_ms))
    return [_prepare(t, max_chars)[0] for t in earlier[-keep:]]


def _ms(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _detector(config: ProjectConfig) -> Detector:
    version = config.config_version
    detector = _DETECTORS.get(version)
    if detector is None:
        if len(_DETECTORS) >= _DETECTORS_KEPT:
            del _DETECTORS[next(iter(_DETECTORS))]
        detector = _DETECTORS[version] = Detector(config.active_events,
                                                  config.analytics.regex_timeout_ms)
    return detector
