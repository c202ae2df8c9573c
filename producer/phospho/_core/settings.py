"""Every setting of the SDK, in one place: explicit argument > environment variable > default.

Only `resolve_settings` raises, and only ConfigurationError (from phospho.init). Plain code
rather than a pydantic-settings model: importing pydantic-settings would more than double the
cost of `import phospho` (~50 -> ~120 ms), which apps pay at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigurationError
from .versions import generate_version_id

__all__ = ["Settings", "resolve_settings", "DEFAULTS", "ENV", "kafka_env_config"]

#: setting -> environment variable(s), first match wins
ENV: dict[str, tuple[str, ...]] = {
    "project_id": ("PHOSPHO_PROJECT_ID",),
    "api_key": ("PHOSPHO_API_KEY",),
    "bootstrap_servers": ("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
    "schema_registry_url": ("PHOSPHO_SCHEMA_REGISTRY_URL",),
    "topic_prefix": ("PHOSPHO_TOPIC_PREFIX",),
    "spool_dir": ("PHOSPHO_SPOOL_DIR",),
    "version_id": ("PHOSPHO_VERSION_ID",),
    "max_queue_size": ("PHOSPHO_MAX_QUEUE_SIZE",),
    "flush_interval": ("PHOSPHO_FLUSH_INTERVAL",),
    "exit_timeout": ("PHOSPHO_EXIT_TIMEOUT",),
    "max_field_chars": ("PHOSPHO_MAX_FIELD_CHARS",),
    "max_event_bytes": ("PHOSPHO_MAX_EVENT_BYTES",),
    "spool_max_bytes": ("PHOSPHO_SPOOL_MAX_BYTES",),
    "trace_link_timeout": ("PHOSPHO_TRACE_LINK_TIMEOUT",),
}

#: named defaults (spool_dir and version_id are computed, see below)
DEFAULTS: dict[str, Any] = {
    "bootstrap_servers": "localhost:9092",
    "topic_prefix": "phospho.",
    "max_queue_size": 50_000,
    "flush_interval": 0.05,
    "exit_timeout": 5.0,
    "max_field_chars": 200_000,
    "max_event_bytes": 900_000,
    "spool_max_bytes": 1 << 30,
    # tracing: how long a finished span waits for a phospho.log in its thread / asyncio task
    "trace_link_timeout": 30.0,
}

_KAFKA_ENV_PREFIX = "PHOSPHO_KAFKA_"


def default_spool_dir() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(state) / "phospho" / "spool"


def kafka_env_config(environ: Mapping[str, str]) -> dict[str, str]:
    """librdkafka settings from PHOSPHO_KAFKA_<NAME> variables, as in Confluent's images:
    PHOSPHO_KAFKA_SASL_MECHANISMS=PLAIN -> sasl.mechanisms; '__' stands for '_'."""
    out = {}
    for name, value in environ.items():
        if name.startswith(_KAFKA_ENV_PREFIX) and name != "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS":
            key = name[len(_KAFKA_ENV_PREFIX) :].lower().replace("__", "\0").replace("_", ".")
            out[key.replace("\0", "_")] = value
    return out


@dataclass(frozen=True)
class Settings:
    project_id: str
    api_key: str | None
    bootstrap_servers: str
    schema_registry_url: str | None
    topic_prefix: str
    spool_dir: Path
    version_id: str
    max_queue_size: int
    flush_interval: float
    exit_timeout: float
    max_field_chars: int
    max_event_bytes: int
    spool_max_bytes: int
    trace_link_timeout: float = DEFAULTS["trace_link_timeout"]
    kafka_config: dict[str, Any] = field(default_factory=dict)


def _pick(name: str, explicit: Any, environ: Mapping[str, str]) -> Any:
    if explicit is not None:
        return explicit
    for var in ENV[name]:
        value = environ.get(var)
        if value not in (None, ""):
            return value
    return DEFAULTS.get(name)


def _number(name: str, value: Any, kind: type, minimum: float) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be a {kind.__name__}, got {value!r} ({ENV[name][0]})") from None
    if number < minimum:
        raise ConfigurationError(f"{name} must be >= {minimum}, got {number!r}")
    return number


def resolve_settings(
    *,
    project_id: str | None = None,
    api_key: str | None = None,
    bootstrap_servers: str | None = None,
    schema_registry_url: str | None = None,
    topic_prefix: str | None = None,
    spool_dir: str | os.PathLike[str] | None = None,
    version_id: str | None = None,
    max_queue_size: int | None = None,
    flush_interval: float | None = None,
    exit_timeout: float | None = None,
    max_field_chars: int | None = None,
    max_event_bytes: int | None = None,
    spool_max_bytes: int | None = None,
    trace_link_timeout: float | None = None,
    kafka_config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    env = os.environ if environ is None else environ
    pid = _pick("project_id", project_id, env)
    if not pid or not isinstance(pid, str):
        raise ConfigurationError(
            "No project id provided. Set the PHOSPHO_PROJECT_ID environment variable or call "
            "phospho.init(project_id=...)."
        )
    bootstrap = _pick("bootstrap_servers", bootstrap_servers, env)
    if not isinstance(bootstrap, str) or not bootstrap.strip():
        raise ConfigurationError("bootstrap_servers must be a non-empty 'host:port[,host:port]' string")
    registry = _pick("schema_registry_url", schema_registry_url, env)
    if registry is not None and not str(registry).startswith(("http://", "https://")):
        raise ConfigurationError(f"schema_registry_url must be an http(s) URL, got {registry!r}")
    prefix = _pick("topic_prefix", topic_prefix, env)
    if not isinstance(prefix, str):
        raise ConfigurationError(f"topic_prefix must be a string, got {prefix!r}")
    spool = Path(_pick("spool_dir", None if spool_dir is None else os.fspath(spool_dir), env) or default_spool_dir())
    try:
        spool.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"cannot create the spool directory {spool}: {exc}") from exc
    if not os.access(spool, os.W_OK | os.X_OK):
        raise ConfigurationError(f"the spool directory {spool} is not writable")
    kconf: dict[str, Any] = kafka_env_config(env)
    if kafka_config is not None:
        if not isinstance(kafka_config, Mapping):
            raise ConfigurationError("kafka_config must be a mapping of librdkafka settings")
        kconf.update(kafka_config)
    key = _pick("api_key", api_key, env)
    return Settings(
        project_id=pid,
        api_key=key,
        bootstrap_servers=bootstrap.strip(),
        schema_registry_url=registry,
        topic_prefix=prefix,
        spool_dir=spool,
        version_id=_pick("version_id", version_id, env) or generate_version_id(),
        max_queue_size=_number("max_queue_size", _pick("max_queue_size", max_queue_size, env), int, 1),
        flush_interval=_number("flush_interval", _pick("flush_interval", flush_interval, env), float, 0.001),
        exit_timeout=_number("exit_timeout", _pick("exit_timeout", exit_timeout, env), float, 0),
        max_field_chars=_number("max_field_chars", _pick("max_field_chars", max_field_chars, env), int, 1000),
        max_event_bytes=_number("max_event_bytes", _pick("max_event_bytes", max_event_bytes, env), int, 10_000),
        spool_max_bytes=_number("spool_max_bytes", _pick("spool_max_bytes", spool_max_bytes, env), int, 1 << 20),
        trace_link_timeout=_number("trace_link_timeout", _pick("trace_link_timeout", trace_link_timeout, env), float, 0),
        kafka_config=kconf,
    )
