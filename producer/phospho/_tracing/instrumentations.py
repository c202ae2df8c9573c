"""The OpenTelemetry instrumentations phospho enables with `init(tracing=True)`: every installed
one for an LLM provider, an LLM framework or a vector store. First the known ones, imported by
module name (`pip install opentelemetry-instrumentation-openai` installs
`opentelemetry.instrumentation.openai`), then any other GenAI one registered as an
`opentelemetry_instrumentor` entry point (see discover). An instrumentation whose library is
not installed is skipped quietly. Instrumentations of anything else (HTTP clients, databases...)
are left to the app. They stay enabled for the life of the process: some cannot be undone
(opentelemetry-instrumentation-openai leaves its wrappers in place after uninstrument, and wraps
twice when instrumented again)."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["MODULES", "instrument"]

logger = logging.getLogger("phospho")

_PREFIX = "opentelemetry.instrumentation."
#: module suffixes, LLM providers first, then frameworks, then vector stores
MODULES = (
    "openai", "openai_v2", "anthropic", "mistralai", "cohere", "groq", "ollama", "together", "replicate",
    "bedrock", "sagemaker", "vertexai", "google_generativeai", "google_genai", "watsonx", "alephalpha",
    "writer", "transformers", "litellm",
    "langchain", "llamaindex", "haystack", "crewai", "openai_agents", "agno", "mcp",
    "chromadb", "pinecone", "qdrant", "weaviate", "milvus", "lancedb", "marqo",
)
#: two packages for one library: the first one installed is used
_ALTERNATIVES = {"openai_v2": "openai"}
_ENABLED: dict[str, Any] = {}


def _instrumentor_class(module: Any) -> type | None:
    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

    for value in vars(module).values():
        if (isinstance(value, type) and issubclass(value, BaseInstrumentor) and value is not BaseInstrumentor
                and value.__module__.startswith(module.__name__)):
            return value
    return None


def _known() -> Iterator[tuple[str, Callable[[], type | None]]]:
    for name in MODULES:
        if importlib.util.find_spec(_PREFIX + name) is not None:
            yield name, lambda name=name: _instrumentor_class(importlib.import_module(_PREFIX + name))


def _entry_points() -> Iterator[tuple[str, Callable[[], type | None]]]:
    from .discover import discover

    for entry_point in discover():
        module = entry_point.value.partition(":")[0]
        known = module[len(_PREFIX):] if module.startswith(_PREFIX) else None
        if known in MODULES:
            continue  # already tried by module name
        yield entry_point.name, entry_point.load


def _enable(name: str, load: Callable[[], type | None], tracer_provider: Any) -> None:
    from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

    cls = load()
    if cls is None:
        logger.warning("phospho: the OpenTelemetry instrumentation %s has no instrumentor class; not enabled", name)
        return
    instrumentor = cls()  # instrumentors are singletons: the app's own, if it made one
    if not instrumentor.is_instrumented_by_opentelemetry:
        conflict = get_dependency_conflicts(instrumentor.instrumentation_dependencies())
        if conflict is not None:  # the library it instruments is not installed (or not a supported version)
            logger.debug("phospho: %s not enabled: %s", name, conflict)
            return
        instrumentor.instrument(tracer_provider=tracer_provider)
    if instrumentor.is_instrumented_by_opentelemetry:
        _ENABLED[name] = instrumentor


def instrument(tracer_provider: Any) -> list[str]:
    """Instrument every installed LLM instrumentation (once per process); returns their names."""
    for candidates in (_known, _entry_points):
        try:
            found = list(candidates())
        except ModuleNotFoundError:  # no opentelemetry-instrumentation at all
            return list(_ENABLED)
        except Exception as exc:  # broken package metadata must not stop the app
            logger.warning("phospho: could not list the OpenTelemetry instrumentations: %r", exc)
            continue
        for name, load in found:
            if name in _ENABLED or _ALTERNATIVES.get(name) in _ENABLED:
                continue
            try:
                _enable(name, load, tracer_provider)
            except Exception as exc:  # a broken or incompatible instrumentation must not stop the app
                logger.warning("phospho: could not enable the OpenTelemetry instrumentation %s: %r", name, exc)
    return list(_ENABLED)
