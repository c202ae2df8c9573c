"""Keyword and regex event detection over a task's scopes, one result or error per definition.

Keyword events of one scope share one Aho-Corasick automaton (keywords.py). A regex runs with
the `regex` module (Python `re` syntax) under a time limit, so a pattern that backtracks without
end (`(a+)+$` on 'aaaa...b') costs at most that limit and an error entry for that task and event.
LLM events are not run here.
"""

from __future__ import annotations

from collections.abc import Sequence

import regex

from ...config import EventDefinition
from .keywords import KeywordMatcher
from .records import AnalysisError, Detection
from .scopes import ScopeTexts

__all__ = ["Detector", "MATCH_CHARS"]

#: characters of a regex match kept in Detection.match
MATCH_CHARS = 64


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

    @property
    def scopes(self) -> frozenset[str]:
        """The scopes some definition searches."""
        return frozenset(self._keywords) | {scope for _, scope, _ in self._regexes}

    def detect(self, texts: ScopeTexts) -> tuple[list[Detection], list[AnalysisError]]:
        """The detected events (in the config's order) and the definitions that failed."""
        found: list[Detection] = []
        errors: list[AnalysisError] = []
        for scope, (matcher, defs) in self._keywords.items():
            try:
                hits = matcher.find(texts.text(scope))
            except Exception as exc:  # noqa: BLE001 - one failing matcher must not lose the task
                errors.extend(AnalysisError("event", f"keyword search failed: {exc!r}", e.event_name)
                              for e in defs)
                continue
            found.extend(Detection(name, 1.0, "confidence", None, "keyword", scope, keyword)
                         for name, keyword in hits.items())
        for name, scope, pattern in self._regexes:
            text = ""
            try:
                text = texts.text(scope)
                match = pattern.search(text, timeout=self._timeout_s) if text else None
            except TimeoutError:
                errors.append(AnalysisError(
                    "event", f"regex gave up after {self._timeout_s * 1000:g} ms on the {scope} text "
                    f"({len(text)} chars): the pattern backtracks too much", name))
                continue
            except Exception as exc:  # noqa: BLE001
                errors.append(AnalysisError("event", f"regex search failed: {exc!r}", name))
                continue
            if match is not None:
                found.append(Detection(name, 1.0, "confidence", None, "regex", scope,
                                       match.group(0)[:MATCH_CHARS]))
        found.sort(key=lambda d: self._order[d.event_name])
        return found, errors
