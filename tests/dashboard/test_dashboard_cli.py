"""`phospho-stream dashboard`: alone on a store (here an empty chDB directory: every page
answers), and through a running `up`'s query endpoint when `up` holds the store."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "phospho-stream"


def serve(args, env=None):
    proc = subprocess.Popen([str(CLI), "dashboard", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else url
    return proc, url


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def get(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_dashboard_alone_on_an_empty_store(tmp_path):
    store = tmp_path / "chdb"
    subprocess.run([sys.executable, "-c", f"from phospho_sinks import connect, migrate; migrate(connect('chdb://{store}'))"],
                   check=True, timeout=120)
    proc, url = serve(["--dsn", f"chdb://{store}"])
    try:
        assert get(url + "api/tasks") == {"total": 0, "page": 1, "size": 50, "rows": []}
        assert get(url + "api/users")["total"] == 0 and get(url + "api/sessions")["rows"] == []
        shape = get(url + "api/insights/sessions")
        assert shape["sessions"] == 0 and shape["avg_tasks"] is None and shape["duration_quantiles"]["p50"] is None
        assert get(url + "api/insights/tasks") == {"days": [], "models": []}
        assert get(url + "api/insights/endings") == {"endings": []}
        with urllib.request.urlopen(url, timeout=30) as response:
            assert b'id="view"' in response.read()
    finally:
        stop(proc)


@pytest.mark.integration
def test_dashboard_reads_through_a_running_up(pipeline):
    proc, url = serve([], env=pipeline.env)  # same data directory: up holds the chDB store
    try:
        assert get(url + "api/tasks?size=1")["total"] == len(pipeline.manifest["tasks"])
        assert get(url + "api/users")["total"] == pipeline.api("users")["total"]
    finally:
        stop(proc)
    assert "the running `phospho-stream up`" in proc.stderr.read()
