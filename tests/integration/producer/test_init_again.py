"""A second phospho.init stops the previous sender (one sender thread) and loses nothing: an
app process of its own on the session broker."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from phospho_schemas import Topics

from tests.support.sdk_driver import SdkProcess, clean_env

pytestmark = pytest.mark.integration


def test_init_twice_keeps_one_sender_thread_and_loses_nothing(broker, tmp_path: Path) -> None:
    topics = Topics(f"settings{uuid.uuid4().hex[:8]}.")
    broker.create_topics(topics.all())
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
    init = {"project_id": "p", "bootstrap_servers": broker.bootstrap, "spool_dir": str(tmp_path / "spool"),
            "topic_prefix": topics.prefix, "exit_timeout": 5}
    run = f"twice{uuid.uuid4().hex[:6]}"
    with SdkProcess(init, env) as sdk:
        assert sdk.hello["threads"] == ["phospho-sender"], sdk.hello
        first = sdk.call("log", n=50, start=0, run=run)
        again = sdk.call("init", kwargs=init)
        assert again["threads"] == ["phospho-sender"], again
        second = sdk.call("log", n=50, start=50, run=run)
        third = sdk.call("init", kwargs={**init, "max_queue_size": 1000})
        assert third["threads"] == ["phospho-sender"], third
        flushed = sdk.call("flush", timeout=30)
        assert flushed["result"] is True, flushed
        stats = sdk.call("stats")
        assert stats["threads"] == ["phospho-sender"]
        final = sdk.exit()
    assert final["returncode"] == 0 and final["threads"] == []

    from tests.support.kafka import consume

    def mine(rs):
        return [r for k, r, _ in rs if k == "task" and r["metadata"].get("run") == run]

    records = mine(consume(broker.bootstrap, [topics.tasks], until=lambda rs: len(mine(rs)) >= 100, timeout=30))
    assert sorted(int(r["metadata"]["seq"]) for r in records) == list(range(100))
    assert sorted(r["task_id"] for r in records) == sorted(first["task_ids"] + second["task_ids"])


