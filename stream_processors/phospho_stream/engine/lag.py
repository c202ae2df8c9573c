"""How far a consumer group is behind its topics (high watermarks against committed offsets),
and the gate an analysis stage waits at while the core stage is behind (on one machine, the
core's rows come first; the analysis catches up after)."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

from phospho_schemas import Topics

__all__ = ["lag", "CoreBehind"]


def lag(group: Consumer, topics: list[str]) -> tuple[int, int]:
    """(events in the topics, events the consumer's group has not committed yet), from the high
    watermarks (the embedded broker's can be short by a record batch: figures for a person)."""
    meta = group.list_topics(timeout=5).topics
    parts = [TopicPartition(t, p) for t in topics if t in meta for p in meta[t].partitions]
    ends = {(tp.topic, tp.partition): group.get_watermark_offsets(tp, timeout=5)[1] for tp in parts}
    done = {(tp.topic, tp.partition): max(0, tp.offset) for tp in group.committed(parts, timeout=5)}
    return sum(ends.values()), sum(max(0, ends[k] - done.get(k, 0)) for k in ends)


class CoreBehind:
    """`behind()`: whether the core stage's consumer group (`core_group`) has more than
    `threshold` of its input events not committed yet. Asked of the broker at most every `every`
    seconds (a few round trips); a broker that does not answer is not a reason to wait."""

    def __init__(self, bootstrap: str, topics: Topics, core_group: str, threshold: int, every: float = 0.5) -> None:
        self.threshold, self.every = threshold, every
        self.inputs = list(topics.core_inputs())
        # never subscribed: it only reads the core group's committed offsets
        self._group = Consumer({"bootstrap.servers": bootstrap, "group.id": core_group, "log_level": 0})
        self._checked, self._behind = 0.0, False

    def behind(self) -> bool:
        now = time.monotonic()
        if now - self._checked >= self.every:
            self._checked = now
            try:
                self._behind = lag(self._group, self.inputs)[1] > self.threshold
            except KafkaException:
                self._behind = False
        return self._behind

    def close(self) -> None:
        self._group.close()
