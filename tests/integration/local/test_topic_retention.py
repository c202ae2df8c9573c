"""Topic retention from the config's `privacy.retention.raw_text_days`: the embedded broker `up`
starts creates the pipeline's topics with that retention.ms, and a stage on a Kafka of its own
creates the missing ones with it; the control topics stay compacted, and a topic that already
exists is left as it is (a production cluster's are changed with kafka-configs), and named when it
keeps records longer than the config asks."""

from __future__ import annotations

import logging
import uuid

import pytest

from phospho_schemas import Topics
from phospho_stream.config import RetentionSettings
from phospho_stream.engine.core import CoreEngine
from phospho_stream.engine.topics import ensure_pipeline_topics, ensure_topics, retention_drift
from phospho_stream.local.broker import EmbeddedBroker
from phospho_stream.settings import WorkerSettings

from tests.support.kafka import topic_configs

pytestmark = pytest.mark.integration

THREE_DAYS_MS = 3 * 86_400_000


def test_the_config_s_raw_text_days_is_the_topics_retention():
    assert RetentionSettings(raw_text_days=3, aggregates_days=30).topic_ms == THREE_DAYS_MS
    assert RetentionSettings().topic_ms is None


def test_the_embedded_broker_of_up_creates_every_topic_with_the_retention(tmp_path):
    retention = RetentionSettings(raw_text_days=3).topic_ms
    with EmbeddedBroker(topic_prefix="kept.", partitions=1, retention_ms=retention,
                        log_path=tmp_path / "tansu.log") as broker:
        topics = broker.topics
        configs = topic_configs(broker.bootstrap, list(topics.all()))
    texts = [name for name in topics.all() if name not in topics.compacted()]
    assert topics.tasks in texts and topics.analysis_tasks in texts and topics.dead_letters in texts
    assert {configs[name]["retention.ms"] for name in texts} == {str(THREE_DAYS_MS)}
    for name in topics.compacted():
        assert configs[name]["cleanup.policy"] == "compact"
        assert configs[name]["retention.ms"] != str(THREE_DAYS_MS)


def test_a_stage_on_a_kafka_of_its_own_creates_the_missing_topics_with_it_and_leaves_existing_ones(broker, tmp_path,
                                                                                                      caplog):
    topics = Topics(f"own{uuid.uuid4().hex[:8]}.")
    ensure_topics(broker.bootstrap, [topics.tasks], broker.partitions,
                  config={"retention.ms": str(30 * 86_400_000)})  # there before, kept 30 days
    settings = WorkerSettings(bootstrap=broker.bootstrap, topic_prefix=topics.prefix, app_id=f"ret-{topics.prefix}",
                              topic_partitions=broker.partitions, data_dir=tmp_path)
    engine = CoreEngine(settings, None, THREE_DAYS_MS)
    try:
        with caplog.at_level(logging.WARNING, logger="phospho.worker"):
            engine.ensure_topics()
    finally:
        engine.close()
    warned = [r.getMessage() for r in caplog.records if "keep records longer" in r.getMessage()]
    assert len(warned) == 1 and f"{topics.tasks} (30 days)" in warned[0] and "(3 days)" in warned[0]
    assert topics.spans not in warned[0] and topics.deletions not in warned[0]  # created with it; compacted
    configs = topic_configs(broker.bootstrap, [*topics.all(), topics.state(settings.app_id)])
    assert configs[topics.tasks]["retention.ms"] != str(THREE_DAYS_MS)
    created = [name for name in topics.all() if name not in topics.compacted() and name != topics.tasks]
    assert {configs[name]["retention.ms"] for name in created} == {str(THREE_DAYS_MS)}
    assert configs[topics.deletions]["cleanup.policy"] == "compact"
    assert configs[topics.state(settings.app_id)]["cleanup.policy"] == "compact"


def test_the_drift_names_each_topic_kept_longer_than_asked_and_nothing_else(broker):
    topics = Topics(f"drift{uuid.uuid4().hex[:8]}.")
    ensure_topics(broker.bootstrap, [topics.tasks, topics.spans], broker.partitions, config={"retention.ms": str(30 * 86_400_000)})
    assert ensure_pipeline_topics(broker.bootstrap, topics, broker.partitions, retention_ms=None) is None
    line = retention_drift(broker.bootstrap, topics, THREE_DAYS_MS)
    assert line is not None and line.startswith("2 existing topic(s) keep records longer than")
    assert f"{topics.tasks} (30 days)" in line and f"{topics.spans} (30 days)" in line and "kafka-configs" in line
    assert retention_drift(broker.bootstrap, topics, 60 * 86_400_000) is None  # kept shorter than asked: fine
