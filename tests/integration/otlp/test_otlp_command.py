"""`phospho-stream otlp`, the receiver alone, on the session's broker: what it receives reaches
Kafka as the SDK's events (keyed by task id), what it took while Kafka was down waits in its spool
and is sent at its next start, and what stops it from starting is one line (exit 2), as for `up`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from phospho_schemas import Topics

from tests.support.kafka import consume
from tests.support.otlp import make_spans
from tests.support.processes import stop

pytestmark = pytest.mark.integration
CLI = Path(sys.executable).parent / "phospho-stream"


def a_turn(tracer) -> None:
    with tracer.start_as_current_span("POST /chat", attributes={"session.id": "cli-session", "user.id": "cli-user"}):
        with tracer.start_as_current_span("chat gpt-4o", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
                "gen_ai.input.messages": json.dumps([{"role": "user", "content": "Hello?"}]),
                "gen_ai.output.messages": json.dumps([{"role": "assistant", "content": "Hi!"}])}):
            pass


@pytest.fixture
def env(broker, tmp_path) -> dict[str, str]:
    prefix = f"otlp{uuid.uuid4().hex[:8]}."
    broker.create_topics(Topics(prefix).all())
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PHOSPHO_", "OTEL_")) and k != "KAFKA_BOOTSTRAP_SERVERS"}
    return {**clean, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "PHOSPHO_TOPIC_PREFIX": prefix,
            "PHOSPHO_DATA_DIR": str(tmp_path / "data"), "PHOSPHO_OTLP_PROJECT_ID": "cli-project"}


def start(env: dict[str, str], *args: str) -> tuple[subprocess.Popen, str]:
    """The command started; its traces URL (stdout's first line)."""
    proc = subprocess.Popen([str(CLI), "otlp", "--port", "0", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1/traces"), proc.stderr.read()
    return proc, url


def export(url: str) -> str:
    spans = make_spans(a_turn)
    exporter = OTLPSpanExporter(endpoint=url)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    exporter.shutdown()
    return f"otlp_{spans[0].context.trace_id:032x}"


def events_of(env: dict[str, str], task_id: str, timeout: float = 60) -> list:
    topics = Topics(env["PHOSPHO_TOPIC_PREFIX"])
    got = consume(env["PHOSPHO_KAFKA_BOOTSTRAP_SERVERS"], [topics.tasks, topics.spans], timeout=timeout,
                  until=lambda out: len([o for o in out if o[1]["task_id"] == task_id]) >= 3)
    return [(kind, record, message) for kind, record, message in got if record["task_id"] == task_id]


def test_what_it_receives_reaches_kafka_as_the_sdks_events(env) -> None:
    proc, url = start(env)
    try:
        task_id = export(url)
        events = events_of(env, task_id)
    finally:
        stop(proc)
    assert proc.returncode == 0
    assert "phospho-stream otlp: 1 requests, 2 spans (0 rejected), 1 task events" in proc.stderr.read()
    assert sorted(kind for kind, _, _ in events) == ["span", "span", "task"]
    assert {message.key() for _, _, message in events} == {task_id.encode()}
    [task] = [record for kind, record, _ in events if kind == "task"]
    assert (task["project_id"], task["input"], task["output"], task["session_id"], task["user_id"]) == (
        "cli-project", "Hello?", "Hi!", "cli-session", "cli-user")


def test_what_it_took_while_kafka_was_down_is_sent_at_its_next_start(env, tmp_path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nobody = f"127.0.0.1:{closed.getsockname()[1]}"
    down = {**env, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": nobody}
    proc, url = start(down)
    task_id = export(url)  # accepted: the events wait in the spool
    stop(proc)
    stderr = proc.stderr.read()
    assert proc.returncode == 0 and f"Kafka at {nobody} does not answer" in stderr
    spool = tmp_path / "data" / "otlp-spool"
    assert f"the rest is in {spool}" in stderr and any(spool.iterdir())

    proc, _ = start(env)  # Kafka is back: the spool goes first
    try:
        events = events_of(env, task_id)
    finally:
        stop(proc)
    assert sorted(kind for kind, _, _ in events) == ["span", "span", "task"]


def test_a_port_in_use_is_one_line_and_exit_2(env) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([str(CLI), "otlp", "--port", str(port)], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in done.stderr
        up = subprocess.run([str(CLI), "up", "--kafka-port", "0", "--dashboard-port", "0", "--otlp-port", str(port)],
                            env=env, capture_output=True, text=True, timeout=60)
    assert up.returncode == 2
    assert up.stderr.strip() == (f"phospho-stream up: port {port} is in use, the OTLP receiver cannot listen on "
                                 f"127.0.0.1:{port}: stop what uses it or choose another with --otlp-port")


def test_without_kafka_settings_it_says_what_to_set(env) -> None:
    missing = {k: v for k, v in env.items() if k != "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS"}
    done = subprocess.run([str(CLI), "otlp"], env=missing, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "set PHOSPHO_KAFKA_BOOTSTRAP_SERVERS" in done.stderr
    bad = subprocess.run([str(CLI), "otlp"], env={**env, "PHOSPHO_OTLP_MAX_BODY_BYTES": "tiny"}, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("phospho-stream otlp: PHOSPHO_OTLP_MAX_BODY_BYTES")
    assert bad.stderr.count("\n") == 1
