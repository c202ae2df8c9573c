"""Process-level lifecycle of the SDK: log before init, fork, exit. Each case runs in a child
process (the SDK is process-wide state) against the session broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.support.kafka import consume

pytestmark = pytest.mark.integration


def run(script: str, env: dict[str, str], timeout: float = 90) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_log_before_init_is_sent_once_init_runs(broker, tmp_path):
    marker = f"before-init-{os.getpid()}"
    out = run(f"""
        import json, phospho
        logged = phospho.log(input="{marker}", output="waits for init")   # no PHOSPHO_PROJECT_ID yet
        phospho.init(project_id="late", bootstrap_servers="{broker.bootstrap}", spool_dir="{tmp_path}")
        ok = phospho.flush(30)
        print(json.dumps({{"ok": ok, "task_id": logged["task_id"], "stats": phospho.stats()}}))
    """, {"PHOSPHO_PROJECT_ID": ""})
    assert out["ok"] and out["stats"]["failed"] == 0
    records = consume(broker.bootstrap, [broker.topics.tasks],
                      until=lambda rs: any(r["task_id"] == out["task_id"] for _, r, _ in rs))
    (record,) = [r for _, r, _ in records if r["task_id"] == out["task_id"]]
    assert record["input"] == marker and record["project_id"] == "late"


def test_log_before_init_initialises_from_the_environment(broker, tmp_path):
    out = run("""
        import json, phospho
        logged = phospho.log(input="from env")
        print(json.dumps({"ok": phospho.flush(30), "project": logged["project_id"], "stats": phospho.stats()}))
    """, {"PHOSPHO_PROJECT_ID": "env-project", "PHOSPHO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
          "PHOSPHO_SPOOL_DIR": str(tmp_path)})
    assert out == {"ok": True, "project": "env-project", "stats": out["stats"]}
    assert out["stats"]["delivered"] == 1


def test_a_forked_child_sends_its_own_events_and_not_the_parents(broker, tmp_path):
    tag = f"fork-{os.getpid()}"
    out = run(f"""
        import json, os, phospho
        phospho.init(project_id="fork", bootstrap_servers="{broker.bootstrap}", spool_dir="{tmp_path}")
        phospho.log(input="{tag}-parent-before")
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            phospho.log(input="{tag}-child")
            ok = phospho.flush(30)
            os.write(w, json.dumps({{"ok": ok, "stats": phospho.stats()}}).encode())
            os._exit(0)
        os.waitpid(pid, 0)
        child = json.loads(os.read(r, 65536))
        print(json.dumps({{"parent_ok": phospho.flush(30), "child": child, "parent": phospho.stats()}}))
    """, {})
    assert out["parent_ok"] and out["child"]["ok"]
    assert out["child"]["stats"]["delivered"] == 1  # its own event only
    records = consume(broker.bootstrap, [broker.topics.tasks],
                      until=lambda rs: sum(r["input"].startswith(tag) for _, r, _ in rs) >= 2)
    inputs = sorted(r["input"] for _, r, _ in records if r["input"].startswith(tag))
    assert inputs == [f"{tag}-child", f"{tag}-parent-before"]  # each exactly once


def test_exit_flushes_without_an_explicit_flush(broker, tmp_path):
    tag = f"exit-{os.getpid()}"
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import phospho
        phospho.init(project_id="exit", bootstrap_servers="{broker.bootstrap}", spool_dir="{tmp_path}")
        for i in range(500):
            phospho.log(input="{tag}", metadata={{"i": i}})
    """)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    records = consume(broker.bootstrap, [broker.topics.tasks],
                      until=lambda rs: sum(r["input"] == tag for _, r, _ in rs) >= 500)
    assert sorted(int(r["metadata"]["i"]) for _, r, _ in records if r["input"] == tag) == list(range(500))
