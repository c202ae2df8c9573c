"""Creating the topics a stage writes, when the cluster does not have them yet."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

__all__ = ["ensure_topics"]


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
