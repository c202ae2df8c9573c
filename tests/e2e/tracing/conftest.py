"""One `phospho-stream up` (worker, sink, chDB, query endpoint) on the session's broker for the
tracing end-to-end tests, the local OpenAI-compatible server, and a runner for app scripts: each
script runs in its own process, as an app does (phospho flushes at exit)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from phospho_schemas import Topics

from tests.support.openai_server import OpenAIServer
from tests.support.processes import stop

CLI = Path(sys.executable).parent / "phospho-stream"


class Pipeline:
    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        self.env = env
        self.data_dir = data_dir

    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """One read-only statement, asked of the running `up` (it holds the chDB directory)."""
        info = json.loads((self.data_dir / "up.json").read_text())
        body = json.dumps({"sql": sql, "params": params}).encode()
        request = urllib.request.Request(info["url"], data=body, headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {info['token']}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.loads(response.read())
        return [dict(zip(payload["columns"], row, strict=True)) for row in payload["rows"]]

    def wait_for(self, sql: str, ready: Callable[[list[dict[str, Any]]], bool], timeout: float = 60, **params: Any):
        """Query until `ready(rows)`; the rows (the last ones on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.query(sql, **params)
            if ready(rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.3)

    def run(self, code: str, timeout: float = 90) -> tuple[str, int]:
        """Run an app script (phospho pointed at this pipeline, openai at the local server);
        returns its version id (PHOSPHO_VERSION_ID, on every task it logs) and its start in ms."""
        version = f"v-{uuid.uuid4().hex[:10]}"
        started_ms = int(time.time() * 1000)
        done = subprocess.run([sys.executable, "-c", code], env={**self.env, "PHOSPHO_VERSION_ID": version},
                              capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "an event was lost" not in done.stderr, done.stderr[-3000:]
        return version, started_ms


@pytest.fixture(scope="package")
def openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as running:
        yield running


@pytest.fixture(scope="package")
def pipeline(broker, openai_server, tmp_path_factory) -> Iterator[Pipeline]:
    root = tmp_path_factory.mktemp("tracing")
    prefix = f"tr{uuid.uuid4().hex[:8]}."
    broker.create_topics(Topics(prefix).all())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOSPHO_", "OPENAI_"))}
    env.update(PHOSPHO_KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, PHOSPHO_TOPIC_PREFIX=prefix,
               PHOSPHO_APP_ID=f"app-{prefix}", PHOSPHO_PROJECT_ID="tracing-e2e", PHOSPHO_SPOOL_DIR=str(root / "spool"),
               PHOSPHO_DATA_DIR=str(root / "data"), PHOSPHO_CLICKHOUSE_DSN=f"chdb://{root / 'chdb'}",
               PHOSPHO_WORKER_PRODUCER_BATCH_BYTES="1", OPENAI_BASE_URL=openai_server.base_url, OPENAI_API_KEY="sk-test")
    up = subprocess.Popen([str(CLI), "up", "--kafka-port", "0", "--dashboard-port", "0", "--otlp-port", "0"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        info = root / "data" / "up.json"
        deadline = time.monotonic() + 120
        while not info.exists() and up.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert info.exists(), "phospho-stream up did not start"
        yield Pipeline(env, root / "data")
    finally:
        stop(up, sig=signal.SIGINT, timeout=60)
