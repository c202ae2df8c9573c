"""Creating the topics a stage writes when the cluster lacks them (the pipeline's with their
settings: the control topics compacted, the others with the retention asked for), telling which
existing topics keep raw text longer than asked, and whether a cluster answers."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from phospho_schemas import Topics

__all__ = ["ensure_topics", "ensure_pipeline_topics", "pipeline_topic_config", "retention_drift", "kafka_answers"]


def ensure_topics(bootstrap: str, topics: Iterable[str], partitions: int, replication: int = -1,
                  config: dict[str, str] | None = None, error: type[Exception] = RuntimeError) -> None:
    """Create each missing topic (an existing one is left as it is); raise `error` otherwise."""
    wanted = [NewTopic(t, num_partitions=partitions, replication_factor=replication, config=config or {})
              for t in topics]
    if not wanted:
        return
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    for topic, future in admin.create_topics(wanted, operation_timeout=10).items():
        try:
            future.result(timeout=15)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise error(f"cannot create topic {topic}: {exc}") from exc


def pipeline_topic_config(topics: Topics, name: str, retention_ms: int | None = None) -> dict[str, str]:
    """A pipeline topic's settings: compacted for the control topics (no text; a deleted user's
    tombstone must outlive every retention), else `retention.ms` when one is asked for (None: the
    cluster's default)."""
    if name in topics.compacted():
        return {"cleanup.policy": "compact"}
    return {"retention.ms": str(retention_ms)} if retention_ms is not None else {}


def ensure_pipeline_topics(bootstrap: str, topics: Topics, partitions: int, replication: int = -1,
                           retention_ms: int | None = None, error: type[Exception] = RuntimeError) -> str | None:
    """Every topic of `topics.all()` that is missing, created with its pipeline_topic_config; an
    existing topic is left as it is (a production cluster's are changed with kafka-configs).
    Returns retention_drift's line about the existing ones, for the caller to show."""
    groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for name in topics.all():
        groups.setdefault(tuple(pipeline_topic_config(topics, name, retention_ms).items()), []).append(name)
    for config, names in groups.items():
        ensure_topics(bootstrap, names, partitions, replication, dict(config), error)
    return retention_drift(bootstrap, topics, retention_ms)


def retention_drift(bootstrap: str, topics: Topics, retention_ms: int | None) -> str | None:
    """One line naming the existing pipeline topics that keep records longer than `retention_ms`
    (created before the config asked for it: an existing topic is never changed), or None. A
    cluster that cannot describe its topics is not a drift: None."""
    if retention_ms is None:
        return None
    compacted = set(topics.compacted())
    resources = [ConfigResource(ConfigResource.Type.TOPIC, t) for t in topics.all() if t not in compacted]
    longer: list[str] = []
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})  # held until every answer is in
    try:
        futures = admin.describe_configs(resources)
    except KafkaException:
        return None
    for resource, future in futures.items():
        try:
            entry = future.result(timeout=15).get("retention.ms")
        except Exception:  # noqa: BLE001 - a topic gone, a cluster without DescribeConfigs: nothing to tell
            continue
        if entry is None or entry.value is None:  # not described (a missing topic; Tansu without a setting)
            continue
        kept = int(entry.value)
        if kept < 0 or kept > retention_ms:
            longer.append(f"{resource.name} ({_days(kept)})")
    if not longer:
        return None
    return (f"{len(longer)} existing topic(s) keep records longer than privacy.retention.raw_text_days "
            f"({_days(retention_ms)}): {', '.join(sorted(longer))}; an existing topic is left as it is: set "
            "retention.ms with kafka-configs (README, Privacy)")


def _days(ms: int) -> str:
    return "for ever" if ms < 0 else f"{ms / 86_400_000:g} days"


def kafka_answers(bootstrap: str, timeout: float = 10.0) -> bool:
    """Whether a Kafka answers at `bootstrap` within `timeout` seconds."""
    try:
        AdminClient({"bootstrap.servers": bootstrap, "log_level": 0}).list_topics(timeout=timeout)
    except Exception:  # noqa: BLE001 - unreachable, refused, bad address: the same answer
        return False
    return True
