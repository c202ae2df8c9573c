"""Every setting of the pipeline's processes, in one place: argument > environment > default.

One pydantic-settings model per process kind; each field's environment variable is
`PHOSPHO_<FIELD>` unless its alias says otherwise. `phospho-stream settings` (and the README's
table) list them all with their defaults and meaning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PipelineSettings", "WorkerSettings", "SinkSettings", "ALL_SETTINGS", "describe_settings"]

_CONFIG = SettingsConfigDict(env_prefix="PHOSPHO_", extra="ignore", populate_by_name=True)


class PipelineSettings(BaseSettings):
    """What every pipeline process reads."""

    model_config = _CONFIG

    bootstrap: str = Field(
        "localhost:9092", validation_alias=AliasChoices("bootstrap", "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS",
                                                        "KAFKA_BOOTSTRAP_SERVERS"),
        description="Kafka bootstrap servers (host:port,...)")
    topic_prefix: str = Field("phospho.", description="prefix of every topic (the SDK's PHOSPHO_TOPIC_PREFIX)")
    topic_partitions: int = Field(4, ge=1, description="partitions of the topics the pipeline creates")
    schema_registry_url: str | None = Field(
        None, description="the schema registry the SDK writes through, if any (events are decoded with their writer schema)")
    data_dir: Path = Field(Path(".phospho"), description="chDB store, faust's files, up.json, the demo's spool")
    config: Path | None = Field(None, description="the project YAML (events, pricing, analytics, llm, privacy)")

    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()


class WorkerSettings(PipelineSettings):
    """A stream worker (`phospho-stream worker`)."""

    app_id: str = Field("phospho-pipeline", description="the core stage's consumer group (and faust app id)")
    session_timeout_minutes: float = Field(30, gt=0, description="the inactivity gap that cuts session windows")
    join_horizon_days: float = Field(
        7, gt=0, description="how long feedback waits for its task before it is dead-lettered (with its reason)")
    state_retention_hours: float = Field(
        24, gt=0, description="a worker forgets session windows that ended this long before their key's newest "
        "task, keys idle this long, and the facts of tasks this old (later feedback still updates the task)")
    state_replication: int = Field(-1, description="replication factor of the state changelogs (-1: the broker's default)")
    worker_batch_size: int = Field(4000, ge=1, description="events per batch a worker processes at once")
    worker_batch_seconds: float = Field(0.05, gt=0, description="a partial batch is processed after this long")
    evaluation_batch_size: int = Field(
        8, ge=1, description="messages per batch of the evaluation stage (each holds many tasks; a batch's LLM "
        "calls run at once within llm.max_concurrency, and its input is acknowledged when all are answered)")
    worker_producer_batch_bytes: int = Field(
        16_384, ge=1, description="bytes per producer batch of the row topics (1 on the embedded broker, for exact lag)")
    expire_every_seconds: float = Field(5.0, gt=0, description="how often waiting feedback and old state are checked")

    @property
    def gap_ms(self) -> int:
        return int(self.session_timeout_minutes * 60_000)

    @property
    def horizon_ms(self) -> int:
        return int(self.join_horizon_days * 86_400_000)

    @property
    def retention_ms(self) -> int:
        return int(self.state_retention_hours * 3_600_000)


class SinkSettings(PipelineSettings):
    """The sink (`phospho-stream sink`): row topics into ClickHouse."""

    clickhouse_dsn: str | None = Field(
        None, description="chdb://<dir> or clickhouse://user:pass@host:8123/db (default: chDB in <data_dir>/chdb)")
    sink_max_rows: int = Field(20_000, ge=1, description="rows per write")
    sink_max_seconds: float = Field(0.2, gt=0, description="a partial write goes after this long")


ALL_SETTINGS: tuple[type[BaseSettings], ...] = (PipelineSettings, WorkerSettings, SinkSettings)


def describe_settings(models: tuple[type[BaseSettings], ...] = ALL_SETTINGS) -> list[tuple[str, str, str, str]]:
    """(environment variable, default, meaning, process kinds) of every setting, once each."""
    seen: dict[str, list[Any]] = {}
    for model in models:
        for name, info in model.model_fields.items():
            alias = info.validation_alias
            env = next((c for c in getattr(alias, "choices", ()) if isinstance(c, str) and c.isupper()),
                       f"PHOSPHO_{name.upper()}")
            entry = seen.setdefault(env, [env, repr(info.default), info.description or "", []])
            entry[3].append(model.__name__.removesuffix("Settings").lower())
    return [(env, default, meaning, ", ".join(kinds)) for env, default, meaning, kinds in seen.values()]
