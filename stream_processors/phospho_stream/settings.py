"""Every setting of the pipeline's processes, in one place: argument > environment > default.

One pydantic-settings model per process kind; each field's environment variable is
`PHOSPHO_<FIELD>` unless its alias says otherwise. `phospho-stream settings` (and the README's
table) list them all with their defaults and meaning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import SettingsError

__all__ = ["PipelineSettings", "WorkerSettings", "SinkSettings", "UpSettings", "ReadSettings", "OtlpReceiverSettings",
           "OtlpSettings", "settings_markdown", "ALL_SETTINGS", "describe_settings", "load_settings"]

_CONFIG = SettingsConfigDict(env_prefix="PHOSPHO_", extra="ignore", populate_by_name=True)


def load_settings(model: type[BaseSettings], **arguments: Any) -> Any:
    """`model` from the environment with the arguments that are not None on top; SettingsError
    (one line naming the variable) for a value that does not fit."""
    try:
        return model(**{k: v for k, v in arguments.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        names = {f: env for env, f in _env_names(model).items()}
        raise SettingsError(f"{names.get(field, field)} (or --{field.replace('_', '-')}): {error['msg']}, "
                            f"got {error['input']!r}") from None


def _env_names(model: type[BaseSettings]) -> dict[str, str]:
    """Each environment variable `model` reads -> its field."""
    prefix = model.model_config.get("env_prefix", "")
    out = {}
    for name, info in model.model_fields.items():
        choices = [c for c in getattr(info.validation_alias, "choices", ()) if isinstance(c, str) and c.isupper()]
        out[choices[0] if choices else f"{prefix}{name}".upper()] = name
    return out


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
    worker_fetch_wait_seconds: float = Field(
        0.1, gt=0, le=1.5, description="how long a worker's fetch waits for new data (the embedded broker answers a "
        "fetch only then, data or not: most of a stage's latency there)")
    evaluation_batch_size: int = Field(
        8, ge=1, description="messages per batch of the evaluation stage (each holds many tasks; a batch's LLM "
        "calls run at once within llm.max_concurrency, and its input is acknowledged when all are answered)")
    worker_producer_batch_bytes: int = Field(
        16_384, ge=1, description="bytes per producer batch of the row topics (1 on the embedded broker, for exact lag)")
    analysis_yield_lag: int = Field(
        0, ge=0, description="the analytics stage waits before each batch while the core stage has more than this "
        "many input events not committed, so on one machine the core's rows come first (0: never; up gives its "
        "analytics stage its own default, 10,000)")
    analysis_yield_seconds: float = Field(
        10.0, gt=0, description="the longest such wait at a time: the analytics stage then takes one batch")
    expire_every_seconds: float = Field(5.0, gt=0, description="how often waiting feedback and old state are checked")
    worker_max_event_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="an input event larger than this is dead-lettered (the SDK sends at "
        "most PHOSPHO_MAX_EVENT_BYTES, 900 KB by default)")

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
    sink_min_seconds: float = Field(
        0.05, ge=0, description="writes are at least this far apart (else a batch goes as soon as the topics run dry)")


class OtlpReceiverSettings(BaseSettings):
    """The OTLP/HTTP receiver's settings, in `up` and in `phospho-stream otlp`."""

    model_config = _CONFIG

    otlp_port: int = Field(4318, ge=0, le=65535, description="the OTLP/HTTP receiver's port (0: a free one)")
    otlp_project_id: str = Field(
        "otlp", min_length=1,
        validation_alias=AliasChoices("otlp_project_id", "PHOSPHO_OTLP_PROJECT_ID", "PHOSPHO_PROJECT_ID"),
        description="the project of the tasks and spans received over OTLP (else PHOSPHO_PROJECT_ID)")
    otlp_max_body_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="a request body larger than this, decompressed, is refused (413)")
    otlp_token: str | None = Field(
        None, description="when set, a request needs the header Authorization: Bearer <token> (401 otherwise)")
    otlp_memory_mb: float = Field(
        64, gt=0, description="memory for the recent traces (so that a trace sent in pieces stays one task)")
    otlp_spool_dir: Path | None = Field(
        None, description="where the receiver keeps events while Kafka is unreachable (default: <data_dir>/otlp-spool)")

    def otlp_spool_path(self, data_dir: Path) -> Path:
        return (self.otlp_spool_dir or data_dir / "otlp-spool").expanduser().resolve()

    @property
    def otlp_memory_bytes(self) -> int:
        return int(self.otlp_memory_mb * 1024 * 1024)


class OtlpSettings(PipelineSettings, OtlpReceiverSettings):
    """`phospho-stream otlp`: the OTLP/HTTP receiver alone, producing to PHOSPHO_KAFKA_BOOTSTRAP_SERVERS."""

    otlp_host: str = Field("127.0.0.1", description="the address `phospho-stream otlp` listens on (loopback unless "
                                                    "told; 0.0.0.0 in a container)")


class UpSettings(PipelineSettings, OtlpReceiverSettings):
    """`phospho-stream up`: everything on one machine."""

    kafka_port: int = Field(9092, ge=0, le=65535, description="the embedded broker's port (0: a free one)")
    dashboard_port: int = Field(8765, ge=0, le=65535, description="the dashboard and query endpoint's port (0: a free one)")
    host: str = Field("127.0.0.1", description="the address up serves on (loopback unless told)")
    drain_seconds: float = Field(20.0, ge=0, description="on stop, how long the stages may take to catch up")
    analysis_nice: int = Field(
        5, ge=0, le=19, description="scheduling priority given up by the analysis stages' workers, so that the "
        "core's rows keep flowing when the machine is busy (they catch up after)")
    analysis_yield_lag: int = Field(
        10_000, ge=0, description="the analytics stage up runs waits while the core stage has more than this many "
        "input events not committed, so a burst's task rows reach SQL first (0: never)")
    topics_every_minutes: float = Field(
        60, ge=0, description="minutes between the topics runs up makes over the recent task inputs (0: none; "
        "`phospho-stream topics` runs one at any time)")
    topics_since: str = Field("7d", pattern=r"^\s*\d+(\.\d+)?\s*[mhdw]\s*$",
                              description="how far back each of up's topics runs reads (30m, 24h, 7d, 2w)")


class ReadSettings(BaseSettings):
    """The read processes' settings (`query`, `insights`, `dashboard`, and the web app `up`
    serves): argument > environment > default."""

    model_config = SettingsConfigDict(env_prefix="PHOSPHO_READ_", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(Path(".phospho"), validation_alias=AliasChoices("data_dir", "PHOSPHO_DATA_DIR"),
                           description="chDB store, faust's files, up.json, the demo's spool")
    dsn: str | None = Field(None, validation_alias=AliasChoices("dsn", "PHOSPHO_CLICKHOUSE_DSN"),
                            description="chdb://<dir> or clickhouse://user:pass@host:8123/db (default: chDB in <data_dir>/chdb)")
    host: str = Field("127.0.0.1", description="where `phospho-stream dashboard` listens")
    port: int = Field(0, ge=0, le=65535, description="its port (0: a free one, printed)")
    public_url: str | None = Field(
        None, description="the address browsers use when it is not host:port (a published container port, a proxy): "
        "accepted in Host and Origin headers, and printed")
    timeout_seconds: float = Field(60.0, gt=0, description="per query: seconds of execution at most")
    max_rows: int = Field(1_000_000, ge=1, description="per query: rows of the result at most (more is an error)")
    max_bytes: int = Field(512 * 1024 * 1024, ge=1, description="per query: bytes of the result at most")

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
        return _env_names(cls)

    @classmethod
    def load(cls, **arguments: Any) -> ReadSettings:
        return load_settings(cls, **arguments)


ALL_SETTINGS: tuple[type[BaseSettings], ...] = (PipelineSettings, WorkerSettings, SinkSettings, UpSettings,
                                                OtlpSettings, ReadSettings)


def _shown(value: Any) -> str:
    return str(value) if isinstance(value, Path) else repr(value)


def describe_settings(models: tuple[type[BaseSettings], ...] = ALL_SETTINGS[1:]) -> list[tuple[str, str, str, str]]:
    """(environment variable, default, meaning, process kinds) of every setting, once each."""
    seen: dict[str, list[Any]] = {}
    for model in models:
        for env, name in _env_names(model).items():
            info = model.model_fields[name]
            entry = seen.setdefault(env, [env, _shown(info.default), info.description or "", []])
            entry[3].append(model.__name__.removesuffix("Settings").lower())
    return [(env, default, meaning, ", ".join(kinds)) for env, default, meaning, kinds in seen.values()]


def settings_markdown() -> str:
    """The README's table of every pipeline setting (a test keeps the README equal to it)."""
    lines = ["| environment variable | default | meaning | read by |", "|---|---|---|---|"]
    for env, default, meaning, kinds in describe_settings():
        lines.append(f"| `{env}` | `{default}` | {meaning} | {kinds} |")
    return "\n".join(lines)
