"""The dashboard's end-to-end tests run against real pipeline data: `phospho-stream up` (embedded
broker, stage workers, sink, chDB) with the demo's project config (its events and prices),
serving its read app on loopback, fed once per session with the demo workload, an agent
conversation with steps and a second project's tasks (dashboard_traffic.py), and a headless
Chromium (Debian's chromium + chromium-driver: `make browser`) driven by Selenium, logged in
through the URL `up` prints (its token traded for a cookie)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import stop

CLI = Path(sys.executable).parent / "phospho-stream"
TRAFFIC = Path(__file__).with_name("dashboard_traffic.py")
DEMO_CONFIG = Path(__file__).resolve().parents[3] / "stream_processors/phospho_stream/config/examples/demo.yaml"
TURNS = 30
ARTIFACTS = Path(os.environ.get("PHOSPHO_TEST_ARTIFACTS") or Path(__file__).resolve().parents[3] / "test-artifacts") / "dashboard"


@dataclass
class Pipeline:
    url: str  # the dashboard, e.g. http://127.0.0.1:PORT/
    token: str  # up's token, from its up.json
    env: dict[str, str]
    manifest: dict[str, Any]

    @property
    def login_url(self) -> str:
        """The URL `up` prints: opened once, it leaves the browser a cookie."""
        return f"{self.url}?token={self.token}"

    def api(self, name: str, **params: Any) -> dict[str, Any]:
        response = httpx.get(f"{self.url}api/{name}", params=params, timeout=30, trust_env=False,
                             headers={"Authorization": f"Bearer {self.token}"})
        response.raise_for_status()
        return response.json()

    def query(self, sql: str) -> list[dict[str, Any]]:
        """`phospho-stream query` (through up's query endpoint): an independent read of the views."""
        done = subprocess.run([str(CLI), "query", sql, "--format", "json"], env=self.env, capture_output=True,
                              text=True, timeout=120, check=True)
        return json.loads(done.stdout)


def _wait(condition, timeout: float, what: str, proc: subprocess.Popen | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"`phospho-stream up` exited ({proc.returncode}) while waiting for {what}")
        try:
            value = condition()
        except (OSError, httpx.HTTPError):
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _all_visible(pipeline: Pipeline) -> bool:
    """Every task, feedback and step stored, every task analysed, and the sessions' sums of the
    analysis complete."""
    tasks = pipeline.manifest["tasks"]
    flags = [t["flag"] for t in tasks]
    last = pipeline.api("task", id=pipeline.manifest["agent"]["task_ids"][-1])
    return (pipeline.api("tasks", size=1)["total"] == len(tasks)
            and pipeline.api("tasks", flag="failure", size=1)["total"] == flags.count("failure")
            and pipeline.api("tasks", flag="success", size=1)["total"] == flags.count("success")
            and len(last["spans"]) == 3 and last["task"]["span_count"] == 3
            and sum(d["analysed_tasks"] for d in pipeline.api("insights/tasks")["days"]) == len(tasks)
            and pipeline.query("SELECT sum(analyzed_count) AS n FROM phospho.sessions")[0]["n"] == len(tasks))


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    data = tmp_path_factory.mktemp("dashboard-up")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PHOSPHO_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS", "PHOSPHO_CLICKHOUSE_DSN")}
    env.update(PHOSPHO_DATA_DIR=str(data / "data"), PHOSPHO_PROJECT_ID="dashboard-test", PHOSPHO_SPOOL_DIR=str(data / "spool"),
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    log = open(data / "up.log", "w")  # noqa: SIM115 - handed to the child
    up = subprocess.Popen([str(CLI), "up", "--kafka-port", "0", "--dashboard-port", "0", "--otlp-port", "0", "--config", str(DEMO_CONFIG)],
                          env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        info_path = data / "data" / "up.json"
        info = _wait(lambda: info_path.exists() and json.loads(info_path.read_text()), 120, "up.json", up)
        manifest_path = data / "manifest.json"
        subprocess.run([sys.executable, str(TRAFFIC), str(manifest_path), str(TURNS)], check=True, timeout=180,
                       env={**env, "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": info["bootstrap"]})
        running = Pipeline(info["dashboard"], info["token"], env, json.loads(manifest_path.read_text()))
        _wait(lambda: _all_visible(running), 240, "every task, feedback and step in the dashboard", up)
        yield running
    finally:
        stop(up, sig=signal.SIGINT, timeout=60)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from selenium import webdriver

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.fail("the browser tests need Debian's chromium and chromium-driver: run `make browser` (as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
                "--no-first-run", "--disable-extensions", "--lang=en-US"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.artifacts = ARTIFACTS  # where the tests save their screenshots
    driver.logged_in = set()  # the apps whose printed URL the browser opened (see test_dashboard_browser.login)
    try:
        yield driver
    finally:
        driver.quit()
