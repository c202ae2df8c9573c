"""The core stage redacts every decoded event before anything is made of it: no byte it sends
(rows, points, analysis records, dead letters, its state changelog) holds a raw value; the
counts reach the rows, summed with those the SDK sent."""

from __future__ import annotations

import uuid

import orjson
import pytest

from phospho.redaction import Redactor, default_rules
from phospho_schemas import EventDecoder, Topics
from phospho_stream.engine.core import CoreEngine
from phospho_stream.settings import WorkerSettings

from tests.support.events import MIN, feedback, span, task
from tests.support.kafka import consume_raw, json_rows
from tests.support.stage import Feeder, produce

pytestmark = pytest.mark.integration

MAIL, CARD, PHONE = "ana.souza@example.com", "4111 1111 1111 1111", "+44 7400 123456"
RAW = (MAIL.encode(), CARD.encode(), PHONE.encode())


def test_nothing_the_core_sends_holds_a_raw_value_and_the_counts_reach_the_rows(broker, tmp_path):
    prefix = f"r{uuid.uuid4().hex[:8]}."
    topics = Topics(prefix)
    broker.create_topics(topics.all())
    settings = WorkerSettings(bootstrap=broker.bootstrap, topic_prefix=prefix, app_id=f"core-{prefix}",
                              topic_partitions=4, data_dir=tmp_path)
    engine = CoreEngine(settings, Redactor(default_rules()))
    engine.ensure_topics()
    produce(settings.bootstrap, topics, [
        feedback("t-late", "failure", notes=f"call me on {PHONE}"),  # waits for a task that never comes
        task("t1", 0, session="s", user="u", text=f"mail {MAIL}", system_prompt=f"card {CARD}",
             metadata={"note": f"from {MAIL}"}, metadata_json=orjson.dumps({"note": f"from {MAIL}"}).decode(),
             redactions={"employee_id": 2}),
        span("s1", "t1", input_text=f"look up {CARD}", attributes={"phone": PHONE}),
        feedback("t1", "success", at=MIN, notes=f"thanks, {MAIL}"),
    ])
    feeder = Feeder(settings.bootstrap, list(topics.core_inputs()))
    try:
        feeder.drain(engine.process)
        horizon_ms = settings.horizon_ms
        engine.expire(now_ms=10**13 + horizon_ms)  # past the horizon: the waiting feedback is dead-lettered
    finally:
        feeder.close()
        engine.close()
    sent = [*topics.row_topics(), topics.core_points, topics.analysis_tasks, topics.dead_letters,
            topics.state(settings.app_id)]
    messages = {topic: consume_raw(settings.bootstrap, topic, until=lambda got: bool(got), timeout=4)
                for topic in sent}
    assert messages[topics.dead_letters], "the feedback that never met its task is dead-lettered"
    for topic, got in messages.items():
        for msg in got:
            for value in RAW:
                assert value not in (msg.value() or b""), (topic, value)
    dead = EventDecoder(timestamps_as_ms=True).decode(messages[topics.dead_letters][0].value())[1]
    assert dead["notes"] == "call me on <PHONE>" and dead["redactions"] == {"phone": 1}
    tasks = [r for r in json_rows(messages[topics.rows("tasks")]) if "input" in r]
    assert tasks[0]["input"] == "mail <EMAIL>" and tasks[0]["system_prompt"] == "card <CREDIT_CARD>"
    assert orjson.loads(tasks[0]["redactions"]) == {"employee_id": 2, "email": 3, "credit_card": 1}
    spans = [r for r in json_rows(messages[topics.rows("spans")]) if "input_text" in r]
    assert orjson.loads(spans[0]["attributes"]) == {"phone": "<PHONE>"}
    assert orjson.loads(spans[0]["redactions"]) == {"credit_card": 1, "phone": 1}
    notes = {r.get("notes") for r in json_rows(messages[topics.rows("feedback")]) if "notes" in r}
    assert notes == {"thanks, <EMAIL>", "call me on <PHONE>"}
