"""One task's analytics: language, sentiment, keyword and regex events, cost. Never raises.

Each step runs on its own: one that fails leaves its fields None and an entry in `errors`, the
others still run. Language and sentiment read the user's input; events read their scopes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ...config import ProjectConfig
from .cost import Cost, task_cost
from .detection import Detector, Found, SessionParts
from .language import detect_language
from .records import Analysis, AnalysisError, Detection, TaskText
from .scopes import PreparedTask, ScopeTexts
from .sentiment import Sentiment, analyze_sentiment
from .text import clean_text

__all__ = ["analyze", "Analyzer", "EarlierTask", "Started", "RULES_VERSION", "analytics_version"]

#: the version of these rules; with the config's version it makes `analytics_version`
RULES_VERSION = "r1"
#: the analyzers of the configs seen last (keyed by config_version)
_ANALYZERS: dict[str, Analyzer] = {}
_ANALYZERS_KEPT = 8


def analytics_version(config: ProjectConfig) -> str:
    """What every analytics row carries: these rules' version and the config's hash."""
    return f"{RULES_VERSION}-{config.config_version}"


def analyze(task: TaskText, history: Sequence[TaskText | EarlierTask], config: ProjectConfig) -> Analysis:
    """The analytics of `task`; `history` holds earlier tasks of its session (any order, any
    number: the last analytics.session_history before it are used, for session-scope events)."""
    return _analyzer(config).analyze(task, history)


@dataclass(frozen=True, slots=True)
class EarlierTask:
    """A task kept for its session's later tasks, its texts cleaned and cut once (Analyzer.earlier)."""

    task_id: str
    created_at_ms: int
    texts: PreparedTask
    #: what the session keywords find in its input and output (Detector.session_parts)
    session_parts: SessionParts | None = None


@dataclass(slots=True)
class Started:
    """A task's analysis but its events: what needs no other task (Analyzer.start)."""

    task: TaskText
    current: PreparedTask
    truncated: tuple[str, ...]
    language: str | None = None
    sentiment: Sentiment | None = None
    cost: Cost | None = None
    errors: dict[str, AnalysisError] = field(default_factory=dict)
    #: what the detector's units that read this task alone found (Detector.task_units)
    found: dict[int, Found] = field(default_factory=dict)
    session_parts: SessionParts | None = None


class Analyzer:
    """A config's analysis, compiled once (its version, its detectors), run on any number of tasks.

    `start` runs the steps that read one task alone over a whole batch, one step at a time (each
    step's code and tables stay in the CPU's caches: ~20 % faster than task by task); `finish`
    adds the events, which read the session's earlier tasks, in the tasks' order.
    """

    def __init__(self, config: ProjectConfig) -> None:
        self.config, self.settings = config, config.analytics
        self.version = analytics_version(config)
        self.detector = Detector(config.active_events, config.analytics.regex_timeout_ms)

    def analyze(self, task: TaskText, history: Sequence[TaskText | EarlierTask] = ()) -> Analysis:
        """The analytics of `task` (see `analyze`); `history` may hold EarlierTasks, prepared once."""
        return self.finish(self.start([task])[0], history)

    def redetect(self, task: EarlierTask, events: Sequence[str],
                 history: Sequence[TaskText | EarlierTask]) -> Analysis:
        """The events (alone: nothing else is computed) of a task kept in its session's history
        once its session changed (an earlier task came late): the session-scope events detected
        again, the others, which read the task alone, kept from its `events`."""
        started = Started(TaskText(task.task_id, created_at_ms=task.created_at_ms), task.texts, ())
        if self.detector.scopes:
            started.found = self.detector.units_as_were(events)
            started.session_parts = task.session_parts
        return self.finish(started, history)

    def earlier(self, task: TaskText) -> EarlierTask:
        """`task` as its session's later tasks read it: what `analyze` would prepare of it each time."""
        texts = _prepare(task, self.settings.max_chars)[0]
        return EarlierTask(task.task_id, task.created_at_ms, texts, self._session_parts(texts))

    def kept(self, started: Started) -> EarlierTask:
        """What `earlier` makes of the started task with its system prompt left out, as a
        session's history keeps it (its input and output kept whole)."""
        texts = PreparedTask(started.current.input, started.current.output, "")
        return EarlierTask(started.task.task_id, started.task.created_at_ms, texts, started.session_parts)

    def start(self, tasks: Sequence[TaskText]) -> list[Started]:
        """Texts, language, sentiment and cost of each task, step by step over all of them."""
        settings = self.settings
        started = [Started(task, *_prepare(task, settings.max_chars)) for task in tasks]
        if settings.language or settings.sentiment:
            for one in started:
                try:
                    one.language = detect_language(one.current.input)
                except Exception as exc:  # noqa: BLE001 - a failing step must not lose the task
                    one.errors["language"] = AnalysisError("language", repr(exc))
        if settings.sentiment:
            score, magnitude = settings.sentiment_threshold.score, settings.sentiment_threshold.magnitude
            for one in started:
                try:
                    one.sentiment = analyze_sentiment(one.current.input, one.language or "", score, magnitude)
                except Exception as exc:  # noqa: BLE001
                    one.errors["sentiment"] = AnalysisError("sentiment", repr(exc))
        pricing = self.config.pricing
        for one in started:
            task = one.task
            try:
                one.cost = task_cost(task.model, task.usage, task.span_usages or (), pricing, _ms(task.created_at_ms))
            except Exception as exc:  # noqa: BLE001
                one.errors["cost"] = AnalysisError("cost", repr(exc))
        if self.detector.scopes:
            alone = self.detector.task_units([ScopeTexts(one.current, _no_history) for one in started])
            for one, found in zip(started, alone, strict=True):
                one.found, one.session_parts = found, self._session_parts(one.current)
        return started

    def finish(self, started: Started, history: Sequence[TaskText | EarlierTask] = ()) -> Analysis:
        """The analysis of a started task: its events, over `history` (see `analyze`)."""
        settings, task = self.settings, started.task
        events: list[Detection] = []
        failed: list[AnalysisError] = []
        selected: list[EarlierTask] | None = None

        def earlier() -> list[EarlierTask]:
            nonlocal selected
            if selected is None:
                selected = self._history(task, history)
            return selected

        def parts() -> list[dict[str, str]] | None:
            try:
                found = [e.session_parts for e in earlier()] + [started.session_parts]
            except Exception:  # noqa: BLE001 - the session's text is searched instead, and says why
                return None
            return None if None in found else [part for one in found for part in one]  # type: ignore[union-attr]

        try:
            if self.detector.scopes:
                texts = ScopeTexts(started.current, lambda: [e.texts for e in earlier()])
                events, failed = self.detector.finish(texts, started.found, parts)
        except Exception as exc:  # noqa: BLE001
            failed = [AnalysisError("event", repr(exc))]
        errors = started.errors
        sentiment, cost = started.sentiment, started.cost
        return Analysis(
            task_id=str(task.task_id), analytics_version=self.version,
            language=started.language if settings.language else None,
            sentiment_score=sentiment.score if sentiment else None,
            sentiment_magnitude=sentiment.magnitude if sentiment else None,
            sentiment_label=sentiment.label if sentiment else None,
            sentiment_method=sentiment.method if sentiment else None,
            events=tuple(events), cost_usd=cost.usd if cost else None, cost_note=cost.note if cost else None,
            truncated=started.truncated,
            errors=(*(errors[step] for step in ("language", "sentiment") if step in errors), *failed,
                    *((errors["cost"],) if "cost" in errors else ())))

    def _history(self, task: TaskText, history: Sequence[TaskText | EarlierTask]) -> list[EarlierTask]:
        """The last analytics.session_history tasks before `task` (same time included), oldest first."""
        keep = self.settings.session_history
        if keep <= 0:
            return []
        now = _ms(task.created_at_ms)
        earlier = sorted((t for t in history if isinstance(t, TaskText | EarlierTask) and t.task_id != task.task_id
                          and _ms(t.created_at_ms) <= now), key=lambda t: _ms(t.created_at_ms))
        return [t if isinstance(t, EarlierTask) else self.earlier(t) for t in earlier[-keep:]]

    def _session_parts(self, texts: PreparedTask) -> SessionParts | None:
        try:
            return self.detector.session_parts(texts)
        except Exception:  # noqa: BLE001 - the session's text is searched instead, and says why
            return None


def _no_history() -> list[PreparedTask]:
    raise AssertionError("a unit that reads the task alone asked for its session")


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


def _ms(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _analyzer(config: ProjectConfig) -> Analyzer:
    version = config.config_version
    analyzer = _ANALYZERS.get(version)
    if analyzer is None:
        if len(_ANALYZERS) >= _ANALYZERS_KEPT:
            del _ANALYZERS[next(iter(_ANALYZERS))]
        analyzer = _ANALYZERS[version] = Analyzer(config)
    return analyzer
