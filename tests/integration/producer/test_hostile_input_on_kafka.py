"""On Kafka: generated hostile objects thrown at log, wrap and user_feedback arrive as one event
per call (sent == logged, counted on the broker); streams an app left open or never consumed
are sent when it exits, with their reason."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phospho_schemas import Topics

from tests.support.hostile import callables, ids, values
from tests.support.kafka import consume
from tests.support.sdk_driver import clean_env

pytestmark = pytest.mark.integration

calls = st.lists(st.tuples(
    st.sampled_from(["log", "wrap", "user_feedback"]),
    st.fixed_dictionaries({"input": values, "output": values},
                          optional={"user_id": ids, "metadata": values, "extra": values,
                                    "output_to_str_function": callables(1)}),
), min_size=1, max_size=5)


@settings(max_examples=15, deadline=None)
@given(calls=calls)
def test_every_hostile_call_is_one_event_on_kafka(sdk, broker, calls: list[tuple[str, dict[str, Any]]]) -> None:
    failed = sdk.stats()["failed"]
    expected: dict[tuple[str, str], int] = {}
    for kind, call in calls:
        task_id = f"hostile-{uuid.uuid4().hex}"
        if kind == "log":
            sdk.log(task_id=task_id, **call)
        elif kind == "wrap":
            output = call["output"]
            sdk.wrap(lambda *a, output=output: output, task_id=task_id, metadata=call.get("metadata"))(call["input"])
        else:
            sdk.user_feedback(task_id, flag=call["output"] if call["output"] is not None else "success",
                              notes=call["input"], source=call.get("user_id"))
        expected[("feedback" if kind == "user_feedback" else "task", task_id)] = 1
    assert sdk.flush(20), sdk.stats()

    def mine(results: list) -> dict[tuple[str, str], int]:
        got: dict[tuple[str, str], int] = {}
        for kind, record, _ in results:
            if (kind, record["task_id"]) in expected:
                got[(kind, record["task_id"])] = got.get((kind, record["task_id"]), 0) + 1
        return got

    results = consume(broker.bootstrap, [broker.topics.tasks, broker.topics.feedback],
                      until=lambda rs: len(mine(rs)) >= len(expected))
    assert mine(results) == expected
    assert sdk.stats()["failed"] == failed


APP = """
import phospho
phospho.init()

@phospho.wrap(task_id="{run}-never")
def words():
    yield "never consumed"

kept = words()  # referenced until the end: never dropped, never consumed
open_stream = phospho.MutableGenerator(iter(["a", "b", "c"]), stop=lambda chunk: False)
phospho.log(input="q", output=open_stream, stream=True, task_id="{run}-open")
next(open_stream)
"""


def test_streams_left_open_or_never_consumed_are_sent_at_exit(broker, tmp_path) -> None:
    run = f"exit{uuid.uuid4().hex[:8]}"
    topics = Topics(f"{run}.")
    broker.create_topics(topics.all())
    env = clean_env(PHOSPHO_PROJECT_ID="exit", PHOSPHO_KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap,
                    PHOSPHO_TOPIC_PREFIX=topics.prefix, PHOSPHO_SPOOL_DIR=str(tmp_path / "spool"))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(APP.format(run=run))], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    records = consume(broker.bootstrap, [topics.tasks], until=lambda rs: len(rs) >= 2)
    by_task = {r["task_id"]: r for _, r, _ in records}
    assert sorted(by_task) == [f"{run}-never", f"{run}-open"]
    assert by_task[f"{run}-never"]["errors"] == ["stream never consumed by the app; sent when the app exited"]
    opened = by_task[f"{run}-open"]
    assert (opened["output"], opened["errors"]) == ("a", ["stream not finished after 1 chunks; sent when the app exited"])
