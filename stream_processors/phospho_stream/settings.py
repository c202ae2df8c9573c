"""A stream worker's settings, in one place: explicit argument > environment variable > default.

No faust import here: the worker's engine process reads these too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

__all__ = ["WorkerSettings", "ENGINES"]

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
