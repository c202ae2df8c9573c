"""The settings of each process kind, in one place: explicit argument > environment variable > default.

No faust import here: the worker's engine process reads these too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ._errors import SettingsError

__all__ = ["WorkerSettings", "ReadSettings", "ENGINES"]

#: where a worker runs its engine (decoding, rules, state, rows): "process" puts it in a child
#: process, so that faust's per-message work and the engine's per-task work use two cores;
#: "thread" keeps it in the worker's own process (one core, one process)
ENGINES = ("process", "thread")


@dataclass(frozen=True)
class WorkerSettings:
    bootstrap: str
    topic_prefix: str = "phospho."
    app_id: str = "phospho-pipeline"
    partitions: int = 4
    # events per batch handed to the engine, or what came within batch_seconds, or what came
    # within batch_idle_seconds while the engine had nothing to do
    batch_size: int = 4_000
    batch_seconds: float = 0.5
    batch_idle_seconds: float = 0.05
    gap_ms: int = 30 * 60 * 1000
    grace_ms: int = 5 * 60 * 1000
    expire_every: float = 5.0
    retention_ms: int = 24 * 3600 * 1000
    # replication factor of the state changelog topic (-1: the broker's default)
    state_replication: int = -1
    # bytes per producer batch of the row topics; 1 puts every row message in a batch of its
    # own, which keeps lag exact on the embedded Tansu broker (its high watermark stops at its
    # last batch's first record). Row messages are few and large, so this costs little.
    producer_batch_bytes: int = 16_384
    # the schema registry the SDK writes through, if any: events are decoded with their writer schema
    registry_url: str | None = None
    engine: str = "process"
    # faust's fetch loop without its four asyncio tasks per message (`_fast_delivery.py`);
    # False keeps faust's own consumer
    fast_delivery: bool = True

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"PHOSPHO_WORKER_ENGINE must be one of {', '.join(ENGINES)}, not {self.engine!r}")

    @classmethod
    def from_env(cls, bootstrap: str, **overrides: Any) -> WorkerSettings:
        env = os.environ
        values: dict[str, Any] = {
            "topic_prefix": env.get("PHOSPHO_TOPIC_PREFIX") or "phospho.",
            "app_id": env.get("PHOSPHO_APP_ID") or "phospho-pipeline",
            "partitions": int(env.get("PHOSPHO_TOPIC_PARTITIONS") or 4),
            "gap_ms": int(float(env.get("PHOSPHO_SESSION_TIMEOUT_MINUTES") or 30) * 60_000),
            "state_replication": int(env.get("PHOSPHO_STATE_REPLICATION") or -1),
            "producer_batch_bytes": int(env.get("PHOSPHO_WORKER_PRODUCER_BATCH_BYTES") or 16_384),
            "grace_ms": int(float(env.get("PHOSPHO_JOIN_GRACE_SECONDS") or 300) * 1000),
            "expire_every": float(env.get("PHOSPHO_JOIN_EXPIRE_EVERY_SECONDS") or 5),
            "retention_ms": int(float(env.get("PHOSPHO_STATE_RETENTION_HOURS") or 24) * 3600 * 1000),
            "registry_url": env.get("PHOSPHO_SCHEMA_REGISTRY_URL") or None,
            "engine": env.get("PHOSPHO_WORKER_ENGINE") or "process",
            "batch_size": int(env.get("PHOSPHO_WORKER_BATCH_SIZE") or 4_000),
            "batch_seconds": float(env.get("PHOSPHO_WORKER_BATCH_SECONDS") or 0.5),
            "fast_delivery": (env.get("PHOSPHO_WORKER_FAST_DELIVERY") or "1").strip().lower() not in ("0", "false", "no", "off"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(bootstrap=bootstrap, **values)


class ReadSettings(BaseSettings):
    """The read processes' settings (`query`, `insights`, `dashboard`, and the web app `up`
    serves): argument > environment > default."""

    model_config = SettingsConfigDict(env_prefix="PHOSPHO_READ_", extra="ignore", populate_by_name=True)

    #: the project's data directory: the chDB store (`chdb/`) and a running up's `up.json`
    data_dir: Path = Field(Path(".phospho"), validation_alias=AliasChoices("data_dir", "PHOSPHO_DATA_DIR"))
    #: the store: chdb://<dir> or clickhouse://user:pass@host:8123/db (default: <data_dir>/chdb)
    dsn: str | None = Field(None, validation_alias=AliasChoices("dsn", "PHOSPHO_CLICKHOUSE_DSN"))
    #: where the dashboard and the query endpoint listen (`phospho-stream dashboard`)
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)
    #: the address browsers use when it is not host:port (a published container port, a proxy):
    #: its host is accepted in Host and Origin headers, and the printed URL uses it
    public_url: str | None = None
    #: per query: seconds of execution, rows and bytes of the result (an overflow is an error)
    timeout_seconds: float = Field(60.0, gt=0)
    max_rows: int = Field(1_000_000, ge=1)
    max_bytes: int = Field(512 * 1024 * 1024, ge=1)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def store_dsn(self) -> str:
        return self.dsn or f"chdb://{self.data_dir / 'chdb'}"

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """Each environment variable these settings read -> its field."""
        prefix = cls.model_config.get("env_prefix", "")
        return {_ENV_NAMES.get(name, f"{prefix}{name}".upper()): name for name in cls.model_fields}

    @classmethod
    def load(cls, **arguments: Any) -> ReadSettings:
        """The settings from the environment, with the arguments that are not None on top;
        SettingsError (one line naming the variable) for a value that does not fit."""
        try:
            return cls(**{k: v for k, v in arguments.items() if v is not None})
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0]) if error["loc"] else "?"
            name = {f: n for n, f in cls.env_names().items()}.get(field, field)
            raise SettingsError(f"{name} (or --{field.replace('_', '-')}): {error['msg']}, got {error['input']!r}") from None


_ENV_NAMES = {"data_dir": "PHOSPHO_DATA_DIR", "dsn": "PHOSPHO_CLICKHOUSE_DSN"}
