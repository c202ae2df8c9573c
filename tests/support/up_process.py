"""A `phospho-stream up` of a test: started on free ports in its own data directory, read through
its query endpoint, stopped with SIGINT as a person stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phospho_stream.read import EndpointClient, RunningUp, find_running_up

from tests.support.processes import stop

__all__ = ["CLI", "Up", "running_up", "clean_environment", "app_environment"]

CLI = Path(sys.executable).parent / "phospho-stream"


def clean_environment(data_dir: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without any pipeline's address, with this data directory."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS", "PHOSPHO_CLICKHOUSE_DSN",
                        "PHOSPHO_CONFIG", "PHOSPHO_TOPIC_PREFIX", "PHOSPHO_APP_ID")}
    env.update(PHOSPHO_DATA_DIR=str(data_dir), PHOSPHO_PROJECT_ID="test", **extra)
    return env


@dataclass
class Up:
    proc: subprocess.Popen
    info: RunningUp
    env: dict[str, str]
    client: EndpointClient

    def read(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.query(sql, params)

    def cli(self, *args: str, timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
        """`phospho-stream <args>` with this up's environment (it finds up through up.json)."""
        return subprocess.run([str(CLI), *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def wait(self, sql: str, done: Any, timeout: float = 240.0, params: dict[str, Any] | None = None) -> Any:
        """Until `done(first row)` is true; returns that row."""
        deadline, row = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            row = self.read(sql, params).dicts()[0]
            if done(row):
                return row
            time.sleep(0.5)
        raise AssertionError(f"not reached within {timeout:.0f} s: {row}")


@contextmanager
def running_up(env: dict[str, str], log: Path, *args: str) -> Iterator[Up]:
    """`phospho-stream up --kafka-port 0 --dashboard-port 0 --otlp-port 0 <args>`; stopped (SIGINT) at the end."""
    data_dir = Path(env["PHOSPHO_DATA_DIR"])
    proc = subprocess.Popen([str(CLI), "up", "--kafka-port", "0", "--dashboard-port", "0", "--otlp-port", "0", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("ab"))
    try:
        deadline = time.monotonic() + 120
        info = None
        while info is None or info.pid != proc.pid:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
            info = find_running_up(data_dir)
        client = EndpointClient(info, timeout=120)
        try:
            yield Up(proc, info, env, client)
        finally:
            client.close()
    finally:
        stop(proc, sig=signal.SIGINT, timeout=90)
    assert proc.returncode == 0, log.read_text()[-3000:]


def app_environment(up: Up, **extra: str) -> dict[str, str]:
    """An app's environment: the SDK pointed at this up's Kafka."""
    return {**up.env, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": up.info.bootstrap or "", **extra}
