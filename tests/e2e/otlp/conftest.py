"""The OTLP end-to-end tests run real exporters against a real `phospho-stream up` (embedded broker,
stage workers, sink, chDB) on free ports read from its up.json, and read the result with
`phospho-stream query`. The JS app's packages are installed once by `npm ci` from the committed
package-lock.json into tests/e2e/otlp/node/node_modules (the only download of the tests)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import stop

CLI = Path(sys.executable).parent / "phospho-stream"
NODE_APP = Path(__file__).with_name("node")


@dataclass
class Up:
    endpoint: str  # the OTLP receiver's base URL (what OTEL_EXPORTER_OTLP_ENDPOINT takes)
    env: dict[str, str]
    process: subprocess.Popen

    def query(self, sql: str) -> list[dict[str, Any]]:
        """`phospho-stream query --format json`, as an analyst runs it beside `up`."""
        done = subprocess.run([str(CLI), "query", sql, "--format", "json"], env=self.env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def wait_for(self, sql: str, ready: Callable[[list[dict[str, Any]]], bool], timeout: float = 120) -> list[dict[str, Any]]:
        """Query until `ready(rows)`; the rows, or an AssertionError with the last ones."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"`phospho-stream up` exited ({self.process.returncode})"
            rows = self.query(sql)
            if ready(rows):
                return rows
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting on {sql!r}; last rows: {rows}")
            time.sleep(1)


@pytest.fixture(scope="package")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    root = tmp_path_factory.mktemp("otlp-up")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOSPHO_", "OTEL_")) and k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update(PHOSPHO_DATA_DIR=str(root / "data"), PHOSPHO_OTLP_PROJECT_ID="otlp-e2e",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    log = open(root / "up.log", "w")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen([str(CLI), "up", "--kafka-port", "0", "--dashboard-port", "0", "--otlp-port", "0"],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        info_path = root / "data" / "up.json"
        deadline = time.monotonic() + 120
        while not info_path.exists():
            assert process.poll() is None and time.monotonic() < deadline, (root / "up.log").read_text()[-3000:]
            time.sleep(0.3)
        info = json.loads(info_path.read_text())
        yield Up(info["otlp"], env, process)
    finally:
        stop(process, sig=signal.SIGINT, timeout=60)
        log.close()
    assert process.returncode == 0, (root / "up.log").read_text()[-3000:]


@pytest.fixture(scope="package")
def node_app() -> Path:
    """The JS app's directory, its packages installed (`npm ci`, when the lock file changed)."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if not (npm and node):
        pytest.fail("the OTLP end-to-end tests need node (20 or later) and npm on the PATH")
    installed = NODE_APP / "node_modules" / ".package-lock.json"
    lock = NODE_APP / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_APP,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"npm ci failed in {NODE_APP}:\n{done.stderr[-3000:]}"
    return NODE_APP
