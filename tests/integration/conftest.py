"""Fixtures of the integration tests: a stage's worker settings on the session broker."""

from __future__ import annotations

import uuid

import pytest

from phospho_schemas import Topics
from phospho_stream.settings import WorkerSettings


@pytest.fixture()
def settings(broker, tmp_path) -> WorkerSettings:
    """Worker settings on a fresh topic prefix, the pipeline's topics created (4 partitions)."""
    prefix = f"s{uuid.uuid4().hex[:8]}."
    broker.create_topics(Topics(prefix).all())
    return WorkerSettings(bootstrap=broker.bootstrap, topic_prefix=prefix, app_id=f"core-{prefix}",
                          topic_partitions=4, data_dir=tmp_path)
