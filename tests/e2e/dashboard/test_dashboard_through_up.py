"""`phospho-stream dashboard` beside a running `up` that holds the store (same data directory):
it reads through up's query endpoint, with the token of up.json, and serves its own app with
its own token."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e
CLI = Path(sys.executable).parent / "phospho-stream"


def test_dashboard_reads_through_a_running_up(pipeline):
    proc = subprocess.Popen([str(CLI), "dashboard"], env=pipeline.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        login_url = proc.stdout.readline().strip()
        base, _, token = login_url.partition("?token=")
        assert token and token != pipeline.token  # its own app, its own token
        auth = {"Authorization": f"Bearer {token}"}
        tasks = httpx.get(f"{base}api/tasks", params={"size": 1}, headers=auth, trust_env=False, timeout=30).json()
        assert tasks["total"] == len(pipeline.manifest["tasks"])
        users = httpx.get(f"{base}api/users", headers=auth, trust_env=False, timeout=30).json()
        assert users["total"] == pipeline.api("users")["total"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert "the running `phospho-stream up`" in proc.stderr.read()
