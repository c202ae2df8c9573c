"""`phospho-stream broker`: prints host:port alone on its first stdout line, serves the Kafka
protocol there with the pipeline's topics, and stops cleanly (exit code 0, Tansu child gone) on
SIGINT or SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer

from tests.support.kafka import consume

pytestmark = pytest.mark.integration

CLI = Path(sys.executable).parent / "phospho-stream"


def children_of(pid: int) -> list[int]:
    """PIDs whose parent is `pid` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out


def start_time(pid: int) -> str | None:
    """The process start time (field 22 of /proc/<pid>/stat), None when it does not exist or is
    a zombie: identifies a process across PID reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else fields[19]


def first_line(proc: subprocess.Popen, timeout: float) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not box:
        raise AssertionError(f"no stdout line within {timeout}s")
    return box[0]


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_broker_cli(sig: signal.Signals, tmp_path: Path) -> None:
    assert CLI.exists(), CLI
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOSPHO_")}
    proc = subprocess.Popen([str(CLI), "broker"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path)
    try:
        line = first_line(proc, 60)
        assert line.endswith("\n")
        bootstrap = line.rstrip("\n")
        match = re.fullmatch(r"(?P<host>[A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\]):(?P<port>\d{1,5})", bootstrap)
        assert match, f"first stdout line is not host:port: {line!r}"
        host, port = match["host"], int(match["port"])
        assert 0 < port < 65536 and port_open(host, port)

        tansu = children_of(proc.pid)
        assert len(tansu) == 1, f"expected one Tansu child, got {tansu}"
        tansu_pid, tansu_started = tansu[0], start_time(tansu[0])
        assert tansu_started is not None

        # a plain confluent-kafka producer can produce to phospho.tasks (created by the CLI)
        delivered: list = []
        producer = Producer({"bootstrap.servers": bootstrap, "log_level": 0, "message.timeout.ms": 20_000})
        marker = uuid.uuid4().hex.encode()
        for i in range(10):
            producer.produce("phospho.tasks", marker + b"-%d" % i, key=b"k%d" % i,
                             on_delivery=lambda err, msg: delivered.append((err, msg.topic())))
        assert producer.flush(30) == 0
        assert len(delivered) == 10 and all(err is None and topic == "phospho.tasks" for err, topic in delivered), delivered

        class Raw:  # the values are not phospho events: read them raw
            def decode(self, value):
                return "raw", {"value": value}

        read = consume(bootstrap, ["phospho.tasks"], decoder=Raw(), timeout=20,
                       until=lambda rs: sum(r["value"].startswith(marker) for _, r, _ in rs) >= 10)
        assert sorted(r["value"] for _, r, _ in read if r["value"].startswith(marker)) == sorted(
            marker + b"-%d" % i for i in range(10))

        del producer  # closes its connections: Tansu waits for connected clients when stopping
        proc.send_signal(sig)
        rc = proc.wait(30)
        stderr = proc.stderr.read()
        assert rc == 0, f"exit code {rc}; stderr:\n{stderr}"
        deadline = time.monotonic() + 10
        while start_time(tansu_pid) == tansu_started and time.monotonic() < deadline:
            time.sleep(0.1)
        assert start_time(tansu_pid) != tansu_started, f"the Tansu child {tansu_pid} is still running"
        assert not port_open(host, port), "the broker port still accepts connections"
        assert proc.stdout.read() == "", "nothing but host:port on stdout"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
