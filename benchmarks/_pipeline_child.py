"""Child processes of benchmarks/pipeline.py (one chDB data path per process, and the SDK in a
process of its own). `python _pipeline_child.py MODE CONFIG_JSON`; each mode writes its result
as JSON to config["result_path"].

Modes:
  preload   log N tasks with the SDK (many sessions and users), flush
  latency   log M tasks at a steady rate, each with a unique input marker; record log times
  rawsink   baseline B: confluent-kafka consume + EventDecoder + chDB insert (10k-row batches)
  count     count phospho.tasks (and distinct task ids) in a chDB store
  insights  generate task/session/feedback rows in a fresh chDB store, time each INSIGHTS query
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from typing import Any

T0 = 1_763_000_000  # event time base of the generated traffic (2025-11-13)


def _write(cfg: dict[str, Any], result: dict[str, Any]) -> None:
    with open(cfg["result_path"], "w") as f:
        json.dump(result, f)


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] child: {msg}", flush=True)


# -- SDK traffic --------------------------------------------------------------------------------

INPUTS = ["hi", "What is the refund policy?", "Can I change my order?", "thanks!", "Where is my parcel?",
          "How do I reset my password?", "Is there a student discount?", "ok bye", "Talk to a human please",
          "The app crashes when I upload a photo"]


def preload(cfg: dict[str, Any]) -> dict[str, Any]:
    """N tasks: 70 % with an app session_id (N/6 sessions), 30 % without (sessionized by user);
    N/40 users; event times spread over days, increasing per session."""
    import phospho

    n = cfg["tasks"]
    phospho.init(project_id="bench-pipeline", spool_dir=cfg["spool_dir"])
    sessions = max(1, n // 6)
    users = max(1, n // 40)
    t_start = time.time()
    for i in range(n):
        h = (i * 2654435761) & 0xFFFFFFFF
        user = f"user-{h % users}"
        if h % 10 < 7:  # a session's turns a minute or two apart; sessions start over ~5 days
            s = h % sessions
            at = T0 + (s * 7919) % 432_000 + (i // sessions) * 90
            phospho.log(input=INPUTS[i % len(INPUTS)], output="Sure, here is what I found: " + INPUTS[(i + 3) % len(INPUTS)],
                        session_id=f"chat-{s}", user_id=f"user-{s % users}", created_at=at)
        else:  # no session_id: sessionized by user, a few minutes apart
            at = T0 + (h % users) * 97 % 432_000 + (i // users) * 240
            phospho.log(input=INPUTS[i % len(INPUTS)], output="Let me check that for you.", user_id=user, created_at=at)
    logged = time.time()
    ok = phospho.flush(300)
    stats = phospho.stats()
    return {"logged": n, "flush_ok": ok, "log_seconds": logged - t_start, "flush_seconds": time.time() - logged,
            "stats": {k: v for k, v in stats.items() if isinstance(v, (int, float, bool, str, type(None)))}}


def latency(cfg: dict[str, Any]) -> dict[str, Any]:
    import phospho

    phospho.init(project_id="bench-latency", spool_dir=cfg["spool_dir"])
    rate, count, run = cfg["rate"], cfg["count"], cfg["run"]
    users = 50
    logged: dict[str, float] = {}
    t_start = time.time()
    for i in range(count):
        due = t_start + i / rate
        pause = due - time.time()
        if pause > 0:
            time.sleep(pause)
        marker = f"{run}-{i:06d}"
        t = time.time()
        phospho.log(input=marker, output="ok", session_id=f"lat-{i % 200}", user_id=f"lat-user-{i % users}")
        logged[marker] = t
    ok = phospho.flush(60)
    return {"logged": logged, "flush_ok": ok, "seconds": time.time() - t_start,
            "achieved_rate": count / (max(logged.values()) - t_start) if count > 1 else None}


# -- baseline B: raw consume + decode + chDB insert ---------------------------------------------

RAW_TABLE = """CREATE TABLE IF NOT EXISTS bench.raw_tasks (
    task_id String, event_id String, project_id LowCardinality(String), session_id String,
    user_id Nullable(String), created_at_ms Int64, input String, output Nullable(String),
    metadata_json String, sdk_version String
) ENGINE = MergeTree ORDER BY task_id"""


def rawsink(cfg: dict[str, Any]) -> dict[str, Any]:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    from phospho_schemas import EventDecoder
    from phospho_sinks import connect

    store = connect(f"chdb://{cfg['chdb_dir']}")
    store.command("CREATE DATABASE IF NOT EXISTS bench")
    store.command(RAW_TABLE)
    decoder = EventDecoder()
    n, batch_rows = cfg["tasks"], cfg.get("batch", 10_000)
    consumer = Consumer({"bootstrap.servers": cfg["bootstrap"], "group.id": f"raw-{os.getpid()}", "log_level": 0,
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    topic = cfg["topic"]
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
    seen, inserted, batch = 0, 0, []
    t_first = None
    insert_s = decode_s = 0.0
    t_start = time.monotonic()
    deadline = t_start + cfg.get("timeout", 600)
    while inserted < n and time.monotonic() < deadline:
        msgs = consumer.consume(5_000, 0.5)
        if msgs and t_first is None:
            t_first = time.monotonic()
        t0 = time.perf_counter()
        for msg in msgs:
            if msg.error():
                continue
            _, r = decoder.decode(msg.value())
            batch.append({"task_id": r["task_id"], "event_id": r["event_id"], "project_id": r["project_id"],
                          "session_id": r["session_id"], "user_id": r.get("user_id"),
                          "created_at_ms": int(r["created_at"].timestamp() * 1000) if hasattr(r["created_at"], "timestamp") else int(r["created_at"]),
                          "input": r["input"], "output": r.get("output"), "metadata_json": json.dumps(r.get("metadata") or {}),
                          "sdk_version": r.get("sdk_version") or ""})
            seen += 1
        decode_s += time.perf_counter() - t0
        if len(batch) >= batch_rows or (batch and seen + len(batch) >= n) or (batch and seen >= n):
            t0 = time.perf_counter()
            inserted += store.insert_json_rows("bench.raw_tasks", batch)
            insert_s += time.perf_counter() - t0
            batch = []
    t_end = time.monotonic()
    consumer.close()
    count = store.query("SELECT count(), uniqExact(task_id) FROM bench.raw_tasks").rows[0]
    store.close()
    return {"consumed": seen, "inserted": inserted, "rows": count[0], "distinct": count[1],
            "seconds_from_first": t_end - (t_first or t_start), "seconds_total": t_end - t_start,
            "decode_build_seconds": decode_s, "insert_seconds": insert_s}


# -- count --------------------------------------------------------------------------------------

def count(cfg: dict[str, Any]) -> dict[str, Any]:
    from phospho_sinks import connect

    store = connect(f"chdb://{cfg['chdb_dir']}")
    t0 = time.perf_counter()
    row = store.query("SELECT count(), uniqExact(task_id) FROM phospho.tasks").rows[0]
    secs = time.perf_counter() - t0
    sessions = store.query("SELECT count(), sum(task_count) FROM phospho.sessions").rows[0]
    store.close()
    return {"tasks": int(row[0]), "distinct_tasks": int(row[1]), "query_seconds": secs,
            "sessions": int(sessions[0]), "tasks_in_sessions": int(sessions[1] or 0)}


# -- insights over generated rows ---------------------------------------------------------------

#: the task_rows columns the generators fill, in the order of their SELECTs
TASK_ROWS_INSERT = """INSERT INTO phospho.task_rows (task_id, event_id, project_id, session_id, session_id_generated, session_key,
            window_id, user_id, version_id, created_at_ms, client_created_at_ms, last_update_ms, sent_at_ms, input, output,
            system_prompt, model, prompt_tokens, completion_tokens, total_tokens, raw_input, raw_input_type_name,
            raw_output, raw_output_type_name, metadata, metadata_json, stream, errors, sdk_version, span_count,
            llm_call_count, span_models, span_input_tokens, span_output_tokens, llm_latency_ms, llm_wall_ms,
            feedback_flag, feedback_notes, version)"""


def _gen_sql(s_from: int, s_count: int) -> list[str]:
    """INSERT ... SELECT statements for sessions [s_from, s_from + s_count): each session s has
    L = 1 + hash % 9 tasks (mean 5), one user among ~S/10, a minute or so between its tasks;
    ~10 % of tasks get feedback (a third of them failures), ~1 % carry an error."""
    inputs = "[" + ",".join("'" + x.replace("'", "''") + "'" for x in INPUTS) + "]"
    sessions = f"""(SELECT number AS s, 1 + cityHash64(number) % 9 AS L,
            concat('user-', toString(cityHash64(number, 1) % {max(1, (s_from + s_count) // 10)})) AS uid,
            {T0 * 1000} + toInt64(number) * 40000 AS t0
        FROM numbers({s_from}, {s_count}))"""
    task_id = "concat('task-', hex(cityHash64(s, k)))"
    # the worker writes a task's latest feedback on its row and a window's feedback counts on it
    flag = "if(cityHash64(s, k, 7) % 10 = 0, if(cityHash64(s, k, 6) % 3 = 0, 'failure', 'success'), NULL)"
    count_flags = "arrayCount(k -> cityHash64(s, k, 7) % 10 = 0 AND ({cond}), range(L))"
    tasks = f"""{TASK_ROWS_INSERT}
        SELECT {task_id}, generateUUIDv4()::String, 'bench-insights', concat('chat-', toString(s)), false,
            concat('s:chat-', toString(s)), concat('s:chat-', toString(s), '|', concat('task-', hex(cityHash64(s, 0)))),
            uid, '20251113_bench', t0 + k * 60000 + cityHash64(s, k, 2) % 30000, t0 + k * 60000, NULL, t0 + k * 60000 + 20,
            arrayElement({inputs}, 1 + (s + k) % 10), concat('Sure, here is what I found about ', arrayElement({inputs}, 1 + (s + k + 3) % 10)),
            NULL, 'gpt-4o-mini', 20 + cityHash64(s, k, 3) % 200, 50 + cityHash64(s, k, 4) % 400, NULL,
            NULL, 'str', NULL, 'str', map(), '{{}}', false,
            if(cityHash64(s, k, 5) % 100 = 0, ['output: cut at max_field_chars'], []), '0.1.0', 0, 0, [], 0, 0, 0, 0,
            {flag}, NULL, 1
        FROM {sessions} ARRAY JOIN range(L) AS k"""
    windows = f"""INSERT INTO phospho.session_windows (window_id, session_key, session_id, user_id, start_ms, end_ms,
            duration_ms, task_count, first_input, last_input, total_tokens, success_count, failure_count, version, is_deleted)
        SELECT concat('s:chat-', toString(s), '|', concat('task-', hex(cityHash64(s, 0)))), concat('s:chat-', toString(s)),
            concat('chat-', toString(s)), uid, t0, t0 + (L - 1) * 60000, (L - 1) * 60000, L,
            arrayElement({inputs}, 1 + s % 10), arrayElement({inputs}, 1 + (s + L - 1) % 10), 0,
            {count_flags.format(cond="cityHash64(s, k, 6) % 3 != 0")}, {count_flags.format(cond="cityHash64(s, k, 6) % 3 = 0")}, L, 0
        FROM {sessions}"""
    feedback = f"""INSERT INTO phospho.feedback_rows (event_id, project_id, task_id, session_id, user_id, flag, raw_flag,
            notes, source, created_at_ms, errors, orphan, version)
        SELECT generateUUIDv4()::String, 'bench-insights', {task_id}, concat('chat-', toString(s)), uid,
            if(cityHash64(s, k, 6) % 3 = 0, 'failure', 'success'), NULL, NULL, 'user', t0 + k * 60000 + 5000, [], false, 1
        FROM {sessions} ARRAY JOIN range(L) AS k WHERE cityHash64(s, k, 7) % 10 = 0"""
    return [tasks, windows, feedback]


def insights(cfg: dict[str, Any]) -> dict[str, Any]:
    sys.path.insert(0, cfg["repo_src"])
    from phospho_sinks import connect, migrate
    from phospho_stream.read import INSIGHTS

    store = connect(f"chdb://{cfg['chdb_dir']}")
    migrate(store)
    out: dict[str, Any] = {"sizes": []}
    s_done = 0
    chunk = cfg.get("chunk_sessions", 200_000)  # ~1M tasks per INSERT
    for target in cfg["sizes"]:
        s_target = max(1, target // 5)  # mean 5 tasks per session
        t0 = time.perf_counter()
        while s_done < s_target:
            n = min(chunk, s_target - s_done)
            for sql in _gen_sql(s_done, n):
                store.command(sql)
            s_done += n
        gen_s = time.perf_counter() - t0
        tasks, windows = store.query("SELECT (SELECT count() FROM phospho.task_rows), (SELECT count() FROM phospho.session_windows)").rows[0]
        fb = store.query("SELECT count() FROM phospho.feedback_rows").rows[0][0]
        parts = store.query("SELECT table, count() FROM system.parts WHERE database = 'phospho' AND active GROUP BY table").rows
        _say(f"insights: {tasks:,} task rows, {windows:,} session windows, {fb:,} feedback rows generated in {gen_s:.1f} s")
        size: dict[str, Any] = {"target_tasks": target, "task_rows": int(tasks), "session_windows": int(windows),
                                "feedback_rows": int(fb), "generate_seconds": gen_s, "active_parts": dict(parts), "queries": []}
        for title, sql in INSIGHTS:
            runs = []
            error = None
            for _ in range(cfg.get("repeats", 3)):
                t = time.perf_counter()
                try:
                    store.query(sql)
                except Exception as exc:  # report, never hide
                    error = str(exc)[:300]
                    break
                runs.append(time.perf_counter() - t)
            q = {"title": title, "runs": runs, "median": statistics.median(runs) if runs else None, "error": error}
            size["queries"].append(q)
            _say(f"insights @ {tasks:,}: {title}: median {q['median'] if q['median'] is not None else 'n/a'} s {error or ''}")
        out["sizes"].append(size)
    store.close()
    return out


MODES = {"preload": preload, "latency": latency, "rawsink": rawsink, "count": count, "insights": insights}

if __name__ == "__main__":
    mode, cfg_path = sys.argv[1], sys.argv[2]
    with open(cfg_path) as f:
        config = json.load(f)
    _write(config, {"phase": "started"})
    try:
        result = MODES[mode](config)
        result["phase"] = "done"
    except BaseException as exc:
        import traceback

        traceback.print_exc()
        result = {"phase": "error", "error": repr(exc)[:2000]}
    _write(config, result)
    sys.exit(0 if result["phase"] == "done" else 1)
