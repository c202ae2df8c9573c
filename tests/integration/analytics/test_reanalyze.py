"""`reanalyze` after a config change: an event defined today finds its past occurrences, one no
longer defined is retracted, tasks carry the new config's version, and sessions count the new
events; through the pipeline (row topics, the sink) like the analytics stage."""

from __future__ import annotations

import uuid

import pytest

from phospho_schemas import Topics
from phospho_sinks import migrate
from phospho_stream.config import parse_config
from phospho_stream.engine.analytics import AnalyticsEngine
from phospho_stream.jobs.reanalyze import reanalyze
from phospho_stream.read import store_reader
from phospho_stream.settings import WorkerSettings

from tests.integration.analytics.test_analytics_engine import run_stages
from tests.support.events import MIN, task
from tests.support.stage import Feeder, sink_all

pytestmark = pytest.mark.integration

BEFORE = """
events:
  - event_name: greeting
    description: The user says hello.
    detection_engine: keyword_detection
    keywords: hello
"""
AFTER = """
events:
  - event_name: refund request
    description: The user asks for their money back.
    detection_engine: keyword_detection
    keywords: refund
"""


def test_an_event_defined_today_finds_its_past_occurrences(broker, chdb_store, tmp_path):
    migrate(chdb_store)
    tag = f"r{uuid.uuid4().hex[:8]}."
    broker.create_topics(Topics(tag).all())
    settings = WorkerSettings(bootstrap=broker.bootstrap, topic_prefix=tag, app_id=f"core-{tag}", topic_partitions=4,
                              data_dir=tmp_path)
    first = AnalyticsEngine(settings, parse_config(BEFORE), f"analytics-{tag}")
    run_stages(settings, [task(f"{tag}1", 0, session=tag, user=tag, text="hello, I want a refund", project_id=tag),
                          task(f"{tag}2", MIN, session=tag, user=tag, text="where is my parcel?", project_id=tag),
                          task(f"{tag}3", 2 * MIN, session=tag, user=tag, text="refund it now", project_id=tag)], first)
    first.close()
    topics = Topics(tag)
    sink_all(broker.bootstrap, chdb_store, topics)
    mine = {"s": tag}
    assert chdb_store.query("SELECT task_id, event_name FROM phospho.events WHERE session_id = {s:String}",
                            mine).rows == [(f"{tag}1", "greeting")]

    after = parse_config(AFTER)
    result = reanalyze(store_reader(chdb_store), broker.bootstrap, topics, 4, after, project_id=tag)  # the store is shared
    assert (result.tasks, result.events, result.retracted, result.sessions) == (3, 2, 1, 1)
    feeder = Feeder(broker.bootstrap, list(topics.core_inputs()))  # the core gets the points
    from phospho_stream.engine.core import CoreEngine

    core = CoreEngine(settings)
    try:
        feeder.drain(core.process, idle=0.5)
    finally:
        feeder.close()
        core.close()
    sink_all(broker.bootstrap, chdb_store, topics)
    events = chdb_store.query("SELECT task_id, event_name FROM phospho.events WHERE session_id = {s:String} "
                              "ORDER BY task_id", mine).rows
    assert events == [(f"{tag}1", "refund request"), (f"{tag}3", "refund request")]
    versions = chdb_store.query("SELECT DISTINCT analytics_version FROM phospho.tasks WHERE session_id = {s:String}",
                                mine).rows
    assert versions == [(result.version,)]
    (session,) = chdb_store.query("SELECT event_counts, analyzed_count FROM phospho.sessions "
                                  "WHERE session_id = {s:String}", mine).rows
    assert session == ({"refund request": 2}, 3)
