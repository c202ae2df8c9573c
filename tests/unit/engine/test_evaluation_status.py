"""The evaluation stage's status: one line for `up` and `status`, and the files of several
workers merged (counters summed, the backlog the group's, an `off` file read when none runs)."""

from __future__ import annotations

import json
import os

from phospho_stream.engine.evaluation import read_status, status_line, write_off_status
from phospho_stream.engine.evaluation.status import status_path


def _running(**fields) -> dict:
    return {"stage": "evaluation", "state": "running", "reason": None, "backlog": 120, "in_flight": 4, "calls": 1502,
            "cache_hits": 310, "budget": {"limit_usd": 5.0, "spent_today_usd": 0.42}, "last_error": None,
            "pid": os.getpid(), "updated_at_ms": 1, **fields}


def test_one_line_says_backlog_calls_cache_and_budget_or_why_it_waits():
    assert status_line(_running()) == "eval: backlog 120 | 4 in flight | 1,502 calls, 310 cached | $0.42 of $5.00 today"
    waiting = _running(state="waiting", reason="daily budget reached: $5.0000 of $5.0000 spent today")
    assert status_line(waiting).endswith("| WAITING: daily budget reached: $5.0000 of $5.0000 spent today")
    assert status_line(None) == "eval: not running"


def test_the_workers_files_are_merged_and_an_off_file_speaks_when_none_runs(tmp_path):
    assert read_status(tmp_path) is None
    write_off_status(tmp_path, "the config has no `llm:` section")
    assert read_status(tmp_path)["state"] == "off"
    assert status_line(read_status(tmp_path)) == "eval: off (the config has no `llm:` section)"
    status_path(tmp_path).write_text(json.dumps(_running()))
    other = status_path(tmp_path, pid=1)  # pid 1 lives: a second worker
    other.write_text(json.dumps(_running(pid=1, calls=10, last_error="HTTP 500: boom", last_error_at_ms=5)))
    dead = status_path(tmp_path, pid=2 ** 22 + 7)
    dead.write_text(json.dumps(_running(pid=2 ** 22 + 7, calls=10_000)))  # a worker gone: not counted
    merged = read_status(tmp_path)
    assert (merged["workers"], merged["calls"], merged["backlog"]) == (2, 1512, 120)
    assert merged["last_error"] == "HTTP 500: boom" and merged["state"] == "running"
