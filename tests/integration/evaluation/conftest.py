"""Fixtures of the evaluation stage's tests: the OpenAI-compatible judge server (a real process)
and per-test topics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from phospho_schemas import Topics
from phospho_stream.settings import WorkerSettings

from tests.support.judge_server import JudgeServer


@pytest.fixture(scope="module")
def judge() -> Iterator[JudgeServer]:
    with JudgeServer() as server:
        yield server


@pytest.fixture()
def settings(broker, tmp_path) -> WorkerSettings:
    prefix = f"e{uuid.uuid4().hex[:8]}."
    broker.create_topics(Topics(prefix).all())
    return WorkerSettings(bootstrap=broker.bootstrap, topic_prefix=prefix, app_id=f"core-{prefix}",
                          topic_partitions=4, data_dir=tmp_path)
