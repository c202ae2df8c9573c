"""The OpenTelemetry instrumentations for LLM providers, frameworks and vector stores that are
installed but not in phospho's list (`instrumentations.MODULES`): every
`opentelemetry_instrumentor` entry point (the group `opentelemetry-instrument` loads) whose
package is a GenAI one. Instrumentations of anything else (HTTP clients, web frameworks,
databases...) are left to the app.

A package is a GenAI one when it depends on GenAI semantic conventions
(`opentelemetry-semantic-conventions-ai`, the openllmetry packages; `opentelemetry-util-genai`,
the OpenTelemetry ones; `openinference-semantic-conventions`), or when its summary or keywords
say LLM, GenAI, language model, embeddings or vector database. The entry points of known
non-LLM libraries never are.
"""

from __future__ import annotations

import re
from importlib.metadata import EntryPoint, entry_points
from typing import Any

__all__ = ["GROUP", "discover", "is_genai"]

GROUP = "opentelemetry_instrumentor"
_GENAI_REQUIREMENTS = frozenset({"opentelemetry-semantic-conventions-ai", "opentelemetry-util-genai",
                                 "openinference-semantic-conventions", "openinference-instrumentation"})
_GENAI_WORDS = re.compile(r"\b(llms?|genai|gen[-_ ]ai|generative ai|large language models?|language models?|"
                          r"embeddings?|vector (?:database|db|store|search)s?|rag)\b", re.IGNORECASE)
#: OpenTelemetry's instrumentations of libraries that are not LLMs or vector stores
_NOT_GENAI = frozenset({
    "aio_pika", "aiohttp_client", "aiohttp_server", "aiokafka", "aiopg", "asgi", "asyncio", "asyncpg", "aws_lambda",
    "boto", "boto3sqs", "botocore", "cassandra", "celery", "click", "confluent_kafka", "dbapi", "django",
    "elasticsearch", "falcon", "fastapi", "flask", "grpc", "httpx", "jinja2", "kafka", "logging", "mysql",
    "mysqlclient", "pika", "psycopg", "psycopg2", "pymemcache", "pymongo", "pymssql", "pymysql", "pyramid", "redis",
    "remoulade", "requests", "sqlalchemy", "sqlite3", "starlette", "system_metrics", "threading", "tornado",
    "tortoiseorm", "urllib", "urllib3", "wsgi",
})
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def is_genai(entry_point: EntryPoint) -> bool:
    """Whether this instrumentor entry point's package instruments an LLM or a vector store."""
    if entry_point.name in _NOT_GENAI:
        return False
    dist: Any = entry_point.dist
    if dist is None:
        return False
    for requirement in dist.requires or ():
        match = _NAME.match(requirement)
        optional = "extra" in requirement.partition(";")[2]  # e.g. the instrumented library itself
        if match and not optional and _normalized(match.group(1)) in _GENAI_REQUIREMENTS:
            return True
    text = " ".join(filter(None, (dist.metadata.get("Summary"), dist.metadata.get("Keywords"))))
    return bool(_GENAI_WORDS.search(text))


def discover() -> list[EntryPoint]:
    """The GenAI instrumentor entry points installed, in a stable order (by name)."""
    found = [ep for ep in entry_points(group=GROUP) if is_genai(ep)]
    return sorted(found, key=lambda ep: (ep.name, ep.value))
