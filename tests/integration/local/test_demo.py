"""`phospho-stream demo` runs the real SDK end to end and checks what it reads back."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from phospho_schemas import Topics

pytestmark = pytest.mark.integration
CLI = Path(sys.executable).parent / "phospho-stream"


def test_demo_against_a_given_broker(broker, tmp_path):
    env = {**os.environ, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_PROJECT_ID": "demo-test",
           "PHOSPHO_DATA_DIR": str(tmp_path)}
    done = subprocess.run([str(CLI), "demo", "--events", "20"], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "demo OK" in done.stdout
    assert '"failed": 0' in done.stdout
    assert "read back from Kafka: {'task':" in done.stdout


def test_demo_starts_its_own_broker_when_none_is_configured(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS")}
    env.update(PHOSPHO_DATA_DIR=str(tmp_path), PHOSPHO_PROJECT_ID="demo-test")
    done = subprocess.run([str(CLI), "demo", "--events", "10"], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "embedded Kafka-protocol broker (Tansu) on 127.0.0.1:" in done.stdout
    assert "demo OK" in done.stdout
    assert list((tmp_path / "spool").glob("*.spool")) == []


def test_demo_with_a_schema_registry(broker, tmp_path):
    """As in docker-compose's demo profile: the SDK writes the Confluent wire format and the demo
    reads it back through the registry."""
    from tests.support.schema_registry_server import SchemaRegistryServer

    prefix = f"dr{uuid.uuid4().hex[:8]}."  # its own topics: Confluent-framed events stay out of the shared ones
    broker.create_topics(Topics(prefix).all())
    with SchemaRegistryServer() as registry:
        env = {**os.environ, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_PROJECT_ID": "demo-registry",
               "PHOSPHO_DATA_DIR": str(tmp_path), "PHOSPHO_SCHEMA_REGISTRY_URL": registry.url, "PHOSPHO_TOPIC_PREFIX": prefix}
        done = subprocess.run([str(CLI), "demo", "--events", "10"], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "demo OK" in done.stdout
