"""The Confluent wire format path: the SDK with PHOSPHO_SCHEMA_REGISTRY_URL registers its schemas
under <topic>-value and frames values as 0x00 + 4-byte schema id + Avro body; EventDecoder (with a
SchemaRegistryClient) and confluent-kafka's own AvroDeserializer read them back. With the
registry unreachable the SDK falls back to single-object encoding and loses nothing.

The registry is tests/support/schema_registry_server.py (a real HTTP server speaking the registry's REST
API); the SDK runs in a child process (tests/support/sdk_driver.py) so that each
test gets a fresh SDK.
"""

from __future__ import annotations

import json
import time
import uuid
from io import BytesIO
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro import parse_schema, schemaless_writer

from phospho_schemas import MAGIC, EventDecoder, Topics, UnknownSchemaError, raw_schema
from phospho_stream.local.broker import free_port

from tests.support.kafka import consume
from tests.support.schema_registry_server import SchemaRegistryServer
from tests.support.sdk_driver import SdkProcess, clean_env

pytestmark = pytest.mark.integration


@pytest.fixture
def registry():
    with SchemaRegistryServer() as server:
        yield server


def fresh_topics(broker) -> Topics:
    """A topic prefix of our own on the session broker: only this test's events are there."""
    topics = Topics(f"reg{uuid.uuid4().hex[:10]}.")
    broker.create_topics(topics.all())
    return topics


def sdk_process(broker, topics: Topics, tmp_path: Path, registry_url: str, **init) -> SdkProcess:
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"), PHOSPHO_SCHEMA_REGISTRY_URL=registry_url)
    kwargs = {"project_id": "registry-test", "bootstrap_servers": broker.bootstrap,
              "spool_dir": str(tmp_path / "spool"), "topic_prefix": topics.prefix, **init}
    proc = SdkProcess(kwargs, env)
    assert proc.hello.get("ready"), proc.hello
    return proc


def test_sdk_writes_the_confluent_wire_format(broker, registry, tmp_path) -> None:
    topics = fresh_topics(broker)
    n_tasks, n_feedback = 30, 8
    with sdk_process(broker, topics, tmp_path, registry.url) as sdk:
        logged = sdk.call("log", n=n_tasks, run="reg")
        fed = sdk.call("feedback", task_ids=logged["task_ids"][:n_feedback])
        flushed = sdk.call("flush", timeout=30)
        final = sdk.exit()
    assert flushed["result"] is True, flushed
    assert final["final_stats"]["delivered"] == n_tasks + n_feedback
    assert final["final_stats"]["failed"] == 0 and final["final_stats"]["spooled"] == 0

    # registered under <topic>-value (TopicNameStrategy), exactly the shipped schemas
    subjects = registry.subjects()
    assert set(subjects) == {f"{topics.tasks}-value", f"{topics.feedback}-value"}
    ids = {kind: subjects[f"{topics.for_kind(kind)}-value"] for kind in ("task", "feedback")}
    assert all(len(v) == 1 for v in ids.values())
    task_id, feedback_id = ids["task"][0], ids["feedback"][0]
    assert task_id != feedback_id
    assert json.loads(registry.schema(task_id)) == raw_schema("task")
    assert json.loads(registry.schema(feedback_id)) == raw_schema("feedback")

    client = SchemaRegistryClient({"url": registry.url})
    decoder = EventDecoder(registry=client)
    got = consume(broker.bootstrap, [topics.tasks, topics.feedback], decoder=decoder,
                  until=lambda rs: len(rs) >= n_tasks + n_feedback, timeout=30)
    assert len(got) == n_tasks + n_feedback

    tasks = [(r, m) for k, r, m in got if k == "task"]
    feedback = [(r, m) for k, r, m in got if k == "feedback"]
    assert sorted(r["task_id"] for r, _ in tasks) == sorted(logged["task_ids"])
    assert sorted(int(r["metadata"]["seq"]) for r, _ in tasks) == list(range(n_tasks))
    assert sorted(r["task_id"] for r, _ in feedback) == sorted(logged["task_ids"][:n_feedback])
    assert all(r["flag"] == "success" for r, _ in feedback) and len(fed["feedback"]) == n_feedback

    deserializer = AvroDeserializer(client)
    for record, msg in tasks + feedback:
        value = msg.value()
        schema_id = task_id if msg.topic() == topics.tasks else feedback_id
        assert value[0] == 0 and int.from_bytes(value[1:5], "big") == schema_id, value[:5]
        assert value[:2] != MAGIC
        # confluent-kafka's own deserializer reads the same record
        ctx = SerializationContext(msg.topic(), MessageField.VALUE)
        assert deserializer(value, ctx) == record


def test_registry_down_at_send_time_falls_back_to_single_object(broker, tmp_path) -> None:
    """Nothing listens at the registry URL: every event still arrives, single-object encoded.
    (schema.registry.max.retries=0 so that the test does not wait on the client's retries;
    test_registry_down_does_not_stall_the_sender covers the default settings.)"""
    topics = fresh_topics(broker)
    dead = f"http://127.0.0.1:{free_port()}"
    n_tasks, n_feedback = 20, 5
    with sdk_process(broker, topics, tmp_path, dead, kafka_config={"schema.registry.max.retries": 0}) as sdk:
        logged = sdk.call("log", n=n_tasks, run="down")
        sdk.call("feedback", task_ids=logged["task_ids"][:n_feedback])
        flushed = sdk.call("flush", timeout=45)
        final = sdk.exit()
    assert flushed["result"] is True, (flushed, sdk.stderr)
    stats = final["final_stats"]
    assert stats["delivered"] == n_tasks + n_feedback and stats["failed"] == 0, stats

    got = consume(broker.bootstrap, [topics.tasks, topics.feedback], decoder=EventDecoder(),
                  until=lambda rs: len(rs) >= n_tasks + n_feedback, timeout=30)
    assert len(got) == n_tasks + n_feedback
    assert all(m.value()[:2] == MAGIC for _, _, m in got)
    task_records = [r for k, r, _ in got if k == "task"]
    assert sorted(r["task_id"] for r in task_records) == sorted(logged["task_ids"])
    assert len({r["event_id"] for _, r, _ in got}) == n_tasks + n_feedback


def test_registry_down_does_not_stall_the_sender(broker, tmp_path) -> None:
    """With the default registry client settings and nothing listening at the registry URL, the
    SDK must still send promptly ("falling back ... so that nothing waits on it", _kafka.py):
    20 events are delivered within 10 seconds (without a registry this takes well under one)."""
    topics = fresh_topics(broker)
    dead = f"http://127.0.0.1:{free_port()}"
    with sdk_process(broker, topics, tmp_path, dead) as sdk:
        logged = sdk.call("log", n=20, run="stall")
        started = time.monotonic()
        flushed = sdk.call("flush", timeout=10)
        elapsed = time.monotonic() - started
        sdk.kill()
    assert flushed["result"] is True, (
        f"flush(10) returned {flushed['result']} after {elapsed:.1f}s with the registry down: "
        f"{flushed['stats']['delivered']} of {len(logged['task_ids'])} events delivered"
    )


# -- EventDecoder and the registry, in process --------------------------------------------------

def _body(schema: dict, record: dict) -> bytes:
    buf = BytesIO()
    schemaless_writer(buf, parse_schema(schema), record)
    return buf.getvalue()


def _feedback() -> dict:
    return {"event_id": "e" * 32, "project_id": "p", "task_id": "t", "session_id": None, "user_id": None,
            "flag": "failure", "raw_flag": None, "notes": None, "source": "user",
            "created_at": 1_700_000_000_000, "sent_at": 1_700_000_000_001, "errors": [], "sdk_version": ""}


def test_decoder_resolves_an_older_registered_schema(registry) -> None:
    """An event written by an older producer (its schema, registered, lacks `sdk_version`) reads
    with the current reader schema, the missing field set to its default."""
    client = SchemaRegistryClient({"url": registry.url})
    old = json.loads(json.dumps(raw_schema("feedback")))
    old["fields"] = [f for f in old["fields"] if f["name"] != "sdk_version"]
    serializer = AvroSerializer(client, json.dumps(old))
    record = {k: v for k, v in _feedback().items() if k != "sdk_version"}
    value = serializer(record, SerializationContext("phospho.feedback", MessageField.VALUE))
    assert value[0] == 0
    kind, decoded = EventDecoder(registry=client).decode(value)
    assert kind == "feedback" and decoded["sdk_version"] == "" and decoded["flag"] == "failure"


def test_decoder_registry_errors(registry) -> None:
    client = SchemaRegistryClient({"url": registry.url})
    decoder = EventDecoder(registry=client)
    body = _body(raw_schema("feedback"), _feedback())
    with pytest.raises(UnknownSchemaError):  # no schema 999
        decoder.decode(b"\x00" + (999).to_bytes(4, "big") + body)
    foreign = client.register_schema("other-value", Schema(json.dumps(
        {"type": "record", "name": "Other", "namespace": "acme", "fields": [{"name": "x", "type": "long"}]}), "AVRO"))
    with pytest.raises(UnknownSchemaError):  # a schema that is not a phospho event
        decoder.decode(b"\x00" + foreign.to_bytes(4, "big") + b"\x02")
    good = client.register_schema("phospho.feedback-value", Schema(json.dumps(raw_schema("feedback")), "AVRO"))
    assert decoder.decode(b"\x00" + good.to_bytes(4, "big") + body)[1]["task_id"] == "t"
    with pytest.raises(UnknownSchemaError):  # Confluent framing needs a registry
        EventDecoder().decode(b"\x00" + good.to_bytes(4, "big") + body)
