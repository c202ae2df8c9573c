"""Creating the topics a stage writes when the cluster lacks them, and whether a cluster answers."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

__all__ = ["ensure_topics", "kafka_answers"]


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


def kafka_answers(bootstrap: str, timeout: float = 10.0) -> bool:
    """Whether a Kafka answers at `bootstrap` within `timeout` seconds."""
    try:
        AdminClient({"bootstrap.servers": bootstrap, "log_level": 0}).list_topics(timeout=timeout)
    except Exception:  # noqa: BLE001 - unreachable, refused, bad address: the same answer
        return False
    return True
