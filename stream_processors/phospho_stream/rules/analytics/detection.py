"""Keyword and regex event detection over a task's scopes, one result or error per definition.

Keyword events of one scope share one Aho-Corasick automaton (keywords.py). A regex runs with
the `regex` module (Python `re` syntax) under a time limit, so a pattern that backtracks without
end (`(a+)+$` on 'aaaa...b') costs at most that limit and an error entry for that task and event.
LLM events are not run here.

A detector is a list of units (one per keyword scope, then one per regex), each reading one
scope. `detect` runs them all on one task. A batch can run the units that read the task alone
unit by unit over all its tasks (`task_units`: each automaton and pattern stays in the CPU's
caches), then the session's per task (`finish`). Session keywords never span two texts (no
keyword holds a newline), so what they find in a session is what they find in each of its
texts, in order (`session_parts`): a task's texts are searched once, not again for each later
task of its session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import regex

from ...config import EventDefinition
from .keywords import KeywordMatcher
from .records import AnalysisError, Detection
from .scopes import PreparedTask, ScopeTexts

__all__ = ["Detector", "Found", "SessionParts", "MATCH_CHARS"]

#: characters of a regex match kept in Detection.match
MATCH_CHARS = 64

#: a unit's detections and failures
Found = tuple[list[Detection], list[AnalysisError]]
#: event name -> first keyword, for each text of a task (its input, its output)
SessionParts = tuple[dict[str, str], ...]


class Detector:
    """The keyword and regex definitions of a config, compiled once, run on any number of tasks."""

    def __init__(self, events: Sequence[EventDefinition], regex_timeout_ms: float) -> None:
        self._order = {event.event_name: index for index, event in enumerate(events)}
        self._timeout_s = regex_timeout_ms / 1000
        by_scope: dict[str, list[EventDefinition]] = {}
        self._regexes: list[tuple[str, str, regex.Pattern[str]]] = []
        for event in events:
            if event.detection_engine == "keyword_detection":
                by_scope.setdefault(event.detection_scope, []).append(event)
            elif event.detection_engine == "regex_detection" and event.pattern is not None:
                self._regexes.append((event.event_name, event.detection_scope, event.pattern))
        self._keywords = {
            scope: (KeywordMatcher((k, e.event_name) for e in defs for k in e.keyword_list), defs)
            for scope, defs in by_scope.items()}
        self._units: list[tuple[str, Callable[[ScopeTexts], Found]]] = [
            (scope, partial(self._keywords_in, scope, matcher, defs)) for scope, (matcher, defs) in self._keywords.items()]
        self._units += [(scope, partial(self._regex_in, name, scope, pattern)) for name, scope, pattern in self._regexes]
        #: each unit's source and event names
        self._unit_events = [("keyword", frozenset(e.event_name for e in defs)) for _, defs in self._keywords.values()]
        self._unit_events += [("regex", frozenset((name,))) for name, _, _ in self._regexes]
        session = self._keywords.get("session")
        self._session_matcher = session[0] if session is not None and not session[0].spans_lines else None
        self._session_unit = list(self._keywords).index("session") if self._session_matcher is not None else -1

    @property
    def scopes(self) -> frozenset[str]:
        """The scopes some definition searches."""
        return frozenset(self._keywords) | {scope for _, scope, _ in self._regexes}

    def detect(self, texts: ScopeTexts) -> Found:
        """The detected events (in the config's order) and the definitions that failed."""
        return self._assemble([unit(texts) for _, unit in self._units])

    def task_units(self, tasks: Sequence[ScopeTexts]) -> list[dict[int, Found]]:
        """For each task, what the units that do not read the session found (by unit index)."""
        done: list[dict[int, Found]] = [{} for _ in tasks]
        for index, (scope, unit) in enumerate(self._units):
            if scope != "session":
                for found, texts in zip(done, tasks, strict=True):
                    found[index] = unit(texts)
        return done

    def units_as_were(self, events: Sequence[str]) -> dict[int, Found]:
        """What the units that do not read the session found for a task whose texts did not
        change since it was given `events` (by unit index, as `task_units` gives it)."""
        return {index: ([Detection(name, 1.0, "confidence", None, source, scope)  # type: ignore[arg-type]
                         for name in events if name in names], [])
                for index, ((scope, _), (source, names)) in enumerate(zip(self._units, self._unit_events, strict=True))
                if scope != "session"}

    def session_parts(self, task: PreparedTask) -> SessionParts | None:
        """What the session keywords find in each of the task's texts; None when they cannot be
        found text by text (no session keywords, or one holding a newline)."""
        if self._session_matcher is None:
            return None
        return self._session_matcher.find(task.input), self._session_matcher.find(task.output)

    def finish(self, texts: ScopeTexts, done: dict[int, Found],
               parts: Callable[[], list[dict[str, str]] | None]) -> Found:
        """`detect`, the units in `done` already run; `parts` gives the session_parts of the
        session's texts in order (earlier tasks, then this one), or None to search its text."""
        results = []
        for index, (_, unit) in enumerate(self._units):
            found = done.get(index)
            if found is None:
                hits = parts() if index == self._session_unit else None
                found = unit(texts) if hits is None else self._session_found(hits)
            results.append(found)
        return self._assemble(results)

    def _assemble(self, results: list[Found]) -> Found:
        found = [detection for detections, _ in results for detection in detections]
        found.sort(key=lambda d: self._order[d.event_name])
        return found, [error for _, errors in results for error in errors]

    def _session_found(self, parts: list[dict[str, str]]) -> Found:
        hits: dict[str, str] = {}
        for part in parts:
            for name, keyword in part.items():
                hits.setdefault(name, keyword)
        return [Detection(name, 1.0, "confidence", None, "keyword", "session", keyword)
                for name, keyword in hits.items()], []

    @staticmethod
    def _keywords_in(scope: str, matcher: KeywordMatcher[str], defs: list[EventDefinition], texts: ScopeTexts) -> Found:
        try:
            hits = matcher.find(texts.text(scope))
        except Exception as exc:  # noqa: BLE001 - one failing matcher must not lose the task
            return [], [AnalysisError("event", f"keyword search failed: {exc!r}", e.event_name) for e in defs]
        return [Detection(name, 1.0, "confidence", None, "keyword", scope, keyword) for name, keyword in hits.items()], []

    def _regex_in(self, name: str, scope: str, pattern: regex.Pattern[str], texts: ScopeTexts) -> Found:
        text = ""
        try:
            text = texts.text(scope)
            match = pattern.search(text, timeout=self._timeout_s) if text else None
        except TimeoutError:
            return [], [AnalysisError(
                "event", f"regex gave up after {self._timeout_s * 1000:g} ms on the {scope} text "
                f"({len(text)} chars): the pattern backtracks too much", name)]
        except Exception as exc:  # noqa: BLE001
            return [], [AnalysisError("event", f"regex search failed: {exc!r}", name)]
        if match is None:
            return [], []
        return [Detection(name, 1.0, "confidence", None, "regex", scope, match.group(0)[:MATCH_CHARS])], []
