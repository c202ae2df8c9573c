"""up.json: written whole with mode 0600 (it holds the token), found only while its process
runs and for the store it serves."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from phospho_stream.read import UP_FILE, find_running_up, remove_up_file, write_up_file


def fields(pid: int, dsn: str = "chdb:///data/chdb") -> dict:
    return {"pid": pid, "url": "http://127.0.0.1:1/api/query", "dashboard": "http://127.0.0.1:1/", "token": "secret",
            "dsn": dsn, "bootstrap": "127.0.0.1:9092"}


def test_up_json_is_readable_by_its_owner_only(tmp_path):
    os.umask(0o022)
    path = write_up_file(tmp_path, fields(os.getpid()))
    assert path == tmp_path / UP_FILE and stat.S_IMODE(path.stat().st_mode) == 0o600
    write_up_file(tmp_path, fields(os.getpid(), "chdb:///other"))  # rewritten whole, still 0600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and sorted(p.name for p in tmp_path.iterdir()) == [UP_FILE]


def test_found_while_its_process_runs_and_for_its_store(tmp_path):
    write_up_file(tmp_path, fields(os.getpid()))
    running = find_running_up(tmp_path)
    assert (running.pid, running.url, running.token, running.query_url) == (
        os.getpid(), "http://127.0.0.1:1/", "secret", "http://127.0.0.1:1/api/query")
    assert find_running_up(tmp_path, "chdb:///data/chdb") == running
    assert find_running_up(tmp_path, "/data/./chdb") == running  # the same directory, spelled otherwise
    assert find_running_up(tmp_path, "chdb:///another/store") is None
    remove_up_file(tmp_path)
    assert find_running_up(tmp_path) is None
    remove_up_file(tmp_path)  # already gone: nothing to do


def test_not_found_when_its_process_is_gone_or_the_file_is_not_ups(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    write_up_file(tmp_path, fields(gone.pid))
    assert find_running_up(tmp_path) is None
    for text in ("not json", "{}", '{"pid": "x"}', "[]"):
        (tmp_path / UP_FILE).write_text(text)
        assert find_running_up(tmp_path) is None, text
