"""The SDK side of benchmarks/pipeline.py, in a process of its own: `phospho.log` traffic to the
broker of PHOSPHO_KAFKA_BOOTSTRAP_SERVERS under PHOSPHO_TOPIC_PREFIX.

    python _pipeline_sdk.py CONFIG.json

The config says: "mode" "burst" (log "tasks" tasks as fast as one thread can) or "steady"
("rate" tasks/s for "seconds", each input starting with a unique marker, the time of each log
call recorded); "warmup" tasks first (markers "<run>-warmup-<i>"), flushed, then the child
waits for the file "go_path" before the measured traffic (no go_path: it starts at once).
The texts come from the config ("inputs", "answers", "system_prompts", "models"). The mix: 70 %
of tasks with a session_id (sessions of ~6 tasks), 25 % with only a user_id, 5 % anonymous;
40 users per 1,000 tasks; model and token usage on each; feedback on 10 %; 1-3 steps (spans)
on 3 %. Phases and results go to "result_path" as JSON.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from typing import Any

import phospho


def write(cfg: dict[str, Any], result: dict[str, Any]) -> None:
    tmp = cfg["result_path"] + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.replace(tmp, cfg["result_path"])


def plan(cfg: dict[str, Any], count: int, seed: int) -> list[tuple[dict[str, Any], str | None]]:
    """(phospho.log keyword arguments, feedback flag or None) for `count` tasks."""
    rng = random.Random(seed)
    inputs, answers, prompts, models = cfg["inputs"], cfg["answers"], cfg["system_prompts"], cfg["models"]
    sessions, users = max(1, count // 6), max(1, count * 40 // 1000)
    calls = []
    for _ in range(count):
        text = " ".join(rng.sample(inputs, rng.randint(2, 3))) if rng.random() < 0.3 else rng.choice(inputs)
        model = rng.choice(models)
        kwargs: dict[str, Any] = {"input": text, "output": rng.choice(answers), "model": model,
                                  "system_prompt": rng.choice(prompts) or None,
                                  "prompt_tokens": rng.randint(50, 3000), "completion_tokens": rng.randint(20, 800)}
        kind = rng.random()
        if kind < 0.70:
            session = rng.randrange(sessions)
            kwargs.update(session_id=f"chat-{session}", user_id=f"user-{session % users}")
        elif kind < 0.95:
            kwargs["user_id"] = f"user-{rng.randrange(users)}"
        if rng.random() < 0.03:
            kwargs["steps"] = [{"name": "llm call", "input": text[:80], "output": "ok", "gen_ai.operation.name": "chat",
                                "gen_ai.request.model": model, "gen_ai.usage.input_tokens": rng.randint(50, 2000),
                                "gen_ai.usage.output_tokens": rng.randint(10, 500)} for _ in range(rng.randint(1, 3))]
        flag = rng.choice(("success", "success", "failure")) if rng.random() < 0.10 else None
        calls.append((kwargs, flag))
    return calls


def log_all(calls: list[tuple[dict[str, Any], str | None]], markers: list[str] | None, rate: float | None,
            counts: dict[str, int]) -> list[float]:
    """Log each call (paced at `rate` when given); the time.time() just before each log."""
    times, start = [], time.time()
    for i, (kwargs, flag) in enumerate(calls):
        if rate:
            pause = start + i / rate - time.time()
            if pause > 0:
                time.sleep(pause)
        if markers:
            kwargs = {**kwargs, "input": f"{markers[i]} {kwargs['input']}"}
        times.append(time.time())
        task = phospho.log(**kwargs)
        counts["tasks"] += 1
        counts["spans"] += len(kwargs.get("steps") or ())
        if flag is not None:
            phospho.user_feedback(task["task_id"], flag=flag)
            counts["feedback"] += 1
    return times


def main(cfg: dict[str, Any]) -> dict[str, Any]:
    phospho.init(project_id="bench-pipeline", spool_dir=cfg["spool_dir"])
    run, counts = cfg["run"], {"tasks": 0, "feedback": 0, "spans": 0}
    if cfg.get("warmup"):
        warm = plan(cfg, cfg["warmup"], seed=1)
        log_all(warm, [f"{run}-warmup-{i}" for i in range(len(warm))], None, counts)
        phospho.flush(60)
        write(cfg, {"phase": "ready"})
    steady = cfg["mode"] == "steady"
    count = int(cfg["rate"] * cfg["seconds"]) if steady else cfg["tasks"]
    calls = plan(cfg, count, seed=2)
    markers = [f"{run}-{i:06d}" for i in range(count)] if steady else None
    go = cfg.get("go_path")
    while go and not os.path.exists(go):
        time.sleep(0.005)
    times = log_all(calls, markers, cfg.get("rate") if steady else None, counts)
    logged = time.time()
    ok = phospho.flush(600)
    stats = phospho.stats()
    return {"phase": "done", "first_log": times[0], "last_log": times[-1], "flushed_at": time.time(),
            "log_seconds": logged - times[0], "flush_ok": ok, "counts": counts,
            "log_times": dict(zip(markers, times, strict=True)) if markers else None,
            "stats": {k: v for k, v in stats.items() if isinstance(v, (int, float, bool, str, type(None)))}}


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        config = json.load(f)
    try:
        outcome = main(config)
    except BaseException as exc:
        outcome = {"phase": "error", "error": f"{type(exc).__name__}: {exc}"}
    write(config, outcome)
    sys.exit(0 if outcome["phase"] == "done" else 1)
