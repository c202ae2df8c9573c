"""The dashboard tests' workload, logged with the real SDK to the Kafka of a running `up`:
the demo traffic (phospho_stream.local.demo_traffic.generate_traffic), then an agent conversation whose
tasks carry steps (`log(steps=[...])`, sent as span events), then a few tasks of a second
project. Writes what it logged to a JSON manifest: `python dashboard_traffic.py MANIFEST TURNS`."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import phospho
from phospho_stream.local.demo_traffic import generate_traffic

VERSION = "dashboard-test"
AGENT_USER = "agent-user@example.com"
PROJECT, OTHER_PROJECT = "dashboard-test", "dashboard-other"


class Recorder:
    """phospho, recording each logged task and feedback (generate_traffic takes the module)."""

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}
        self.project = PROJECT

    def __getattr__(self, name: str) -> Any:
        return getattr(phospho, name)

    def log(self, **kwargs: Any) -> dict[str, Any]:
        logged = phospho.log(**kwargs)
        self.tasks[logged["task_id"]] = {"task_id": logged["task_id"], "user_id": kwargs.get("user_id"),
                                         "input": logged["input"] if isinstance(logged["input"], str) else None,
                                         "flag": None, "project": self.project}
        return logged

    def user_feedback(self, task_id: str, flag: str, **kwargs: Any) -> Any:
        self.tasks[task_id]["flag"] = flag
        return phospho.user_feedback(task_id, flag=flag, **kwargs)


def agent_session(recorder: Recorder) -> dict[str, Any]:
    """Three turns of one session, newest of all tasks, each with three timed steps."""
    session_id = phospho.new_session()
    questions = ["Where is my order 1234?", "Can it arrive before Friday?", "Thanks, that is all."]
    ids = []
    base = time.time() + 5
    for turn, question in enumerate(questions):
        at = base + turn * 30
        steps = [
            {"name": "plan", "start_time": at - 3.0, "duration_ms": 120, "input": question, "output": "look the order up"},
            {"name": "lookup_order", "start_time": at - 2.8, "duration_ms": 800, "output": '{"status": "shipped"}'},
            {"name": "openai.chat", "start_time": at - 1.9, "duration_ms": 1500, "gen_ai.operation.name": "chat",
             "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
             "gen_ai.usage.input_tokens": 120 + turn, "gen_ai.usage.output_tokens": 30 + turn},
        ]
        logged = recorder.log(input=question, output=f"Answer {turn + 1}: your order ships tomorrow.", session_id=session_id,
                              user_id=AGENT_USER, created_at=at, steps=steps)
        ids.append(logged["task_id"])
    return {"session_id": session_id, "task_ids": ids, "steps": [s["name"] for s in steps]}


def other_project(recorder: Recorder) -> list[str]:
    """Three one-task sessions of the second project (the SDK initialised again for it)."""
    phospho.init(project_id=OTHER_PROJECT, version_id=VERSION)
    recorder.project = OTHER_PROJECT
    return [recorder.log(input=f"Lab question {i}: is the refund policy the same for the lab?", output="Yes, 30 days.",
                         user_id="lab-user@example.com", session_id=f"lab-session-{i}")["task_id"] for i in range(3)]


def main(manifest: str, turns: int) -> int:
    phospho.init(project_id=PROJECT, version_id=VERSION)
    recorder = Recorder()
    counts = generate_traffic(recorder, turns, versions=(VERSION,))
    agent = agent_session(recorder)
    delivered = phospho.flush(60)
    other_project(recorder)
    delivered = phospho.flush(60) and delivered
    with open(manifest, "w") as f:
        json.dump({"counts": counts, "tasks": list(recorder.tasks.values()), "agent": agent, "version": VERSION}, f)
    phospho.shutdown(5)
    return 0 if delivered else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
