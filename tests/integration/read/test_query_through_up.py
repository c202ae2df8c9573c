"""The read commands and the query endpoint while `phospho-stream up` runs (it holds the chDB
store, so they go through its endpoint): up.json and the data directory kept private, the
token of up.json used by the CLI, and attacks on the live endpoint refused with nothing done."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.processes import stop

pytestmark = pytest.mark.integration
CLI = Path(sys.executable).parent / "phospho-stream"


def query(env, sql, *extra):
    done = subprocess.run([str(CLI), "query", sql, "--format", "json", *extra], env=env, capture_output=True,
                          text=True, timeout=120)
    return done.returncode, (json.loads(done.stdout) if done.returncode == 0 else done.stderr)


def test_query_while_up_runs_goes_through_its_endpoint(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOSPHO_") and k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update(PHOSPHO_DATA_DIR=str(tmp_path / "data"), PHOSPHO_PROJECT_ID="up-test")
    up = subprocess.Popen([str(CLI), "up", "--kafka-port", "0", "--dashboard-port", "0", "--otlp-port", "0"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        path = tmp_path / "data" / "up.json"
        deadline = time.monotonic() + 120
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert path.exists(), "up did not start"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        info = json.loads(path.read_text())
        base, token = info["dashboard"], info["token"]

        code, rows = query(env, "SELECT {x:String} AS x", "--param", "x=it's a value")
        assert code == 0 and rows == [{"x": "it's a value"}]
        code, err = query(env, "SELECT '--'; DROP TABLE phospho_store.tasks")
        assert code == 1 and err.startswith("phospho-stream query: refused: 2 statements (SELECT, DROP)"), err
        code, err = query(env, "SELECT nope FROM phospho.tasks")
        assert code == 1 and err.startswith("phospho-stream query: Code: 47. DB::Exception: ") and err.count("\n") == 1
        insights = subprocess.run([str(CLI), "insights"], env=env, capture_output=True, text=True, timeout=120)
        assert insights.returncode == 0 and "== Power users ==" in insights.stdout

        create = {"sql": "CREATE TABLE phospho.pwned (a UInt8) ENGINE = Memory"}
        port = httpx.URL(base).port
        with httpx.Client(base_url=base, trust_env=False, timeout=30) as http:
            assert http.post("api/query", json=create).status_code == 401
            assert http.post("api/query", json=create, headers={"Authorization": "Bearer guess"}).status_code == 401
            rebound = {"Authorization": f"Bearer {token}", "Host": f"attacker.example:{port}"}
            assert http.post("api/query", json=create, headers=rebound).status_code == 403
            no_cors = {"Content-Type": "text/plain", "Origin": "http://attacker.example"}
            assert http.post("api/query", content=json.dumps(create), headers=no_cors).status_code == 403
            refused = http.post("api/query", json=create, headers={"Authorization": f"Bearer {token}"})
            assert refused.status_code == 400 and refused.json()["kind"] == "refused"
        code, rows = query(env, "SELECT count() AS n FROM system.tables")
        assert code == 1  # and the proof that nothing was created, through the locked path itself:
        code, rows = query(env, "SELECT count() AS n FROM phospho.pwned")
        assert code == 1 and "UNKNOWN_TABLE" in rows
        code, rows = query(env, "SELECT count() AS n FROM phospho.tasks")
        assert code == 0 and rows == [{"n": 0}]
    finally:
        stop(up, sig=signal.SIGINT, timeout=60)
    assert up.returncode == 0
    assert not (tmp_path / "data" / "up.json").exists()
