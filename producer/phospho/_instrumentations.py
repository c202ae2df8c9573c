"""The OpenTelemetry instrumentations phospho enables with `init(tracing=True)`: every installed
one for an LLM provider, an LLM framework or a vector store, imported by its module name
(`pip install opentelemetry-instrumentation-openai` installs `opentelemetry.instrumentation.openai`).
Instrumentations of anything else (HTTP clients, databases...) are left to the app. They stay
enabled for the life of the process: some cannot be undone (opentelemetry-instrumentation-openai
leaves its wrappers in place after uninstrument, and wraps twice when instrumented again)."""

from __future__ import annotations

import importlib
import importlib.util
import logging
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


def instrument(tracer_provider: Any) -> list[str]:
    """Instrument every installed LLM instrumentation (once per process); returns their names."""
    for name in MODULES:
        if name in _ENABLED or _ALTERNATIVES.get(name) in _ENABLED:
            continue
        try:
            if importlib.util.find_spec(_PREFIX + name) is None:
                continue
            cls = _instrumentor_class(importlib.import_module(_PREFIX + name))
            if cls is None:
                logger.warning("phospho: %s%s has no instrumentor class; not enabled", _PREFIX, name)
                continue
            instrumentor = cls()  # instrumentors are singletons: the app's own, if it made one
            if not instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.instrument(tracer_provider=tracer_provider)
            _ENABLED[name] = instrumentor
        except ModuleNotFoundError:  # no opentelemetry-instrumentation at all
            continue
        except Exception as exc:  # a broken or incompatible instrumentation must not stop the app
            logger.warning("phospho: could not enable the OpenTelemetry instrumentation %s: %r", name, exc)
    return list(_ENABLED)
