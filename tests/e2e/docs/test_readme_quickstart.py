"""The README's quickstart, followed literally: its shell lines and its Python snippet, in order,
on a fresh data directory; the first event must be queryable, analysed, at the end."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import stop

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]


def quickstart_blocks() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("<!-- quickstart:start -->", 1)[1].split("<!-- quickstart:end -->", 1)[0]
    return re.findall(r"```(bash|python)\n(.*?)```", section, re.S)


def test_the_quickstart_sends_a_first_event_that_comes_back_analysed(tmp_path):
    blocks = quickstart_blocks()
    assert [kind for kind, _ in blocks] == ["bash", "bash", "python", "bash"], blocks
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOSPHO_", "KAFKA_"))}
    env.update(PHOSPHO_DATA_DIR=str(tmp_path / "data"), PHOSPHO_SPOOL_DIR=str(tmp_path / "spool"),
               PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    (install,), (up_line,), (_, snippet), (query_line,) = [(b[1].strip(),) if b[0] == "bash" else b for b in blocks]
    assert install.startswith("make install")
    up = subprocess.Popen(up_line.replace(".venv/bin/", ""), shell=True, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        bootstrap = ""
        deadline = time.monotonic() + 120
        while not bootstrap and time.monotonic() < deadline:
            line = up.stdout.readline()
            assert line, "up ended before printing its Kafka address"
            if match := re.search(r"export (PHOSPHO_KAFKA_BOOTSTRAP_SERVERS=\S+)", line):
                bootstrap = match.group(1)
        name, value = bootstrap.split("=", 1)
        app_env = {**env, name: value}
        subprocess.run([sys.executable, "-c", snippet], env=app_env, check=True, timeout=60)
        deadline, out = time.monotonic() + 90, ""
        while time.monotonic() < deadline:
            done = subprocess.run(query_line.replace(".venv/bin/", ""), shell=True, env=env, cwd=ROOT,
                                  capture_output=True, text=True, timeout=60)
            out = done.stdout
            if done.returncode == 0 and "en" in out and "order" in out:
                break
            time.sleep(1)
        assert "Hello, where is my order?" in out and " en " in f" {out} ", out
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        stop(up, timeout=60)
