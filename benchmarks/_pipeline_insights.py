"""Insight queries of benchmarks/pipeline.py over generated stores, in a process of its own (one
chDB path per process).

    python _pipeline_insights.py CONFIG.json

Config: "chdb_dir", "sizes" (task counts, ascending), "repeats", "inputs" and "answers" (texts),
"result_path". Rows are generated with INSERT ... SELECT FROM numbers() straight into the
phospho_store tables, as the stages write them: per task a core row (its own columns, texts
included, an app version per session, its span summary), a window row ({task_id, window_id}) and
an analytics row (language, sentiment, events, cost), an evaluation row on 80 % of tasks (the
judge's flag, its cost, LLM events), a feedback row on 10 %; per session window (1-9 tasks, mean
5; one user per 10 sessions) its final row and, when it has more than one task, the version
before it; an event row on 30 % of tasks; per size a topics run over its latest ~20,000 tasks.
Then every query of INSIGHTS runs `repeats` times through the read-only path (median kept), and
so do a few reads of the tasks view (informational: not insights).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

from phospho_sinks import connect, migrate, read_only_query
from phospho_stream.read.insights import INSIGHT_TUNING, INSIGHTS

T0_MS = 1_763_000_000_000
LANGS = "['en','en','en','fr','de','es','ja','zh','it','pt']"
#: a session's app version (metadata version_id; '' is none)
VERSIONS = "arrayElement(['20251113_v1','20251120_v2',''], 1 + cityHash64(s, 14) % 3)"
EVENTS = "['refund request','cancellation','frustrated user','assistant apology','order number','thanks'," \
         "'shipping','account access','money amount','link in answer']"

WINDOW_COLUMNS = """(window_id, session_key, session_id, user_id, start_ms, end_ms, duration_ms, task_count,
    first_input, last_input, total_tokens, success_count, failure_count, tasks_with_errors, languages, sentiment_sum,
    sentiment_count, sentiment_min, event_counts, cost_usd, analyzed_count, version, is_deleted)"""

#: reads of the tasks view (not insights): what a query over tasks pays for its partial rows
TASK_QUERIES = (
    ("tasks view: count()", "SELECT count() FROM phospho.tasks"),
    ("tasks view: tasks per language", "SELECT language, count() FROM phospho.tasks GROUP BY language ORDER BY 2 DESC"),
)


def _array(texts: list[str]) -> str:
    return "[" + ",".join("'" + t.replace("\\", "\\\\").replace("'", "\\'") + "'" for t in texts) + "]"


def generate(store: Any, s_from: int, s_count: int, users: int, inputs: str, answers: str) -> None:
    """Every row of sessions [s_from, s_from + s_count)."""
    sessions = f"""(SELECT number AS s, 1 + cityHash64(number) % 9 AS L,
        concat('user-', toString(cityHash64(number, 1) % {users})) AS uid, {T0_MS} + toInt64(number) * 40000 AS t0,
        concat('chat-', toString(number)) AS sid, concat('s:chat-', toString(number)) AS skey,
        concat(skey, '|task-', hex(cityHash64(number, 0))) AS wid FROM numbers({s_from}, {s_count}))"""
    per_task = f"FROM {sessions} ARRAY JOIN range(L) AS k"
    task_id = "concat('task-', hex(cityHash64(s, k)))"
    text_in = f"arrayElement({inputs}, 1 + cityHash64(s, k, 1) % length({inputs}))"
    lang = f"arrayElement({LANGS}, 1 + cityHash64(s, {{k}}, 8) % 10)"
    sent = "((cityHash64(s, {k}, 9) % 2001) / 1000.0 - 1)"
    event = f"if(cityHash64(s, {{k}}, 10) % 10 < 3, arrayElement({EVENTS}, 1 + cityHash64(s, {{k}}, 11) % 10), '')"
    cost = "((cityHash64(s, {k}, 12) % 1000) / 100000.0)"
    flag = "if(cityHash64(s, {k}, 6) % 3 = 0, 'failure', 'success')"
    has_flag = "cityHash64(s, {k}, 7) % 10 = 0"
    has_eval = "cityHash64(s, {k}, 15) % 10 < 8"
    eval_flag = "multiIf(cityHash64(s, {k}, 16) % 10 < 7, 'success', cityHash64(s, {k}, 16) % 10 < 9, 'failure', 'undefined')"
    # the window's flag of a task: the user's, else the judge's verdict (undefined counts for neither)
    task_flag = f"if({has_flag}, {flag}, if({has_eval}, {eval_flag}, ''))"
    at = "t0 + {k} * 60000"

    def counts(expr: str, last: str = "L") -> str:  # a Map(String, UInt32) of expr over the window's tasks
        values = f"arrayFilter(x -> x != '', arrayMap(j -> {expr.format(k='j')}, range({last})))"
        return f"mapFromArrays(arrayDistinct({values}), arrayMap(x -> toUInt32(countEqual({values}, x)), arrayDistinct({values})))"

    def window(last: str, version: str) -> str:
        return f"""SELECT wid, skey, sid, uid, t0, {at.format(k=f'({last} - 1)')}, ({last} - 1) * 60000, {last},
            arrayElement({inputs}, 1 + cityHash64(s, 0, 1) % length({inputs})),
            arrayElement({inputs}, 1 + cityHash64(s, {last} - 1, 1) % length({inputs})),
            arraySum(arrayMap(j -> 500 + cityHash64(s, j, 2) % 3000, range({last}))),
            arrayCount(j -> {task_flag.format(k='j')} = 'success', range({last})),
            arrayCount(j -> {task_flag.format(k='j')} = 'failure', range({last})),
            arrayCount(j -> cityHash64(s, j, 5) % 100 = 0, range({last})),
            {counts(lang, last)}, arraySum(arrayMap(j -> {sent.format(k='j')}, range({last}))), {last},
            arrayMin(arrayMap(j -> {sent.format(k='j')}, range({last}))), {counts(event, last)},
            arraySum(arrayMap(j -> {cost.format(k='j')}, range({last}))), {last}, {version}, 0
        FROM {sessions}"""

    statements = [
        f"""INSERT INTO phospho_store.tasks (task_id, event_id, project_id, session_id, session_id_generated,
            session_key, user_id, version_id, created_at_ms, client_created_at_ms, sent_at_ms, input, output,
            system_prompt, model, prompt_tokens, completion_tokens, total_tokens, raw_input, raw_input_type_name,
            raw_output, raw_output_type_name, metadata, metadata_json, stream, errors, sdk_version, redactions,
            span_count, llm_call_count, span_models, llm_latency_ms, llm_wall_ms)
        SELECT {task_id}, hex(cityHash64(s, k, 3)), 'bench-insights', sid, false, skey, uid, {VERSIONS},
            {at.format(k='k')}, {at.format(k='k')}, {at.format(k='k')} + 20, {text_in},
            arrayElement({answers}, 1 + cityHash64(s, k, 4) % length({answers})), 'You are a helpful assistant.',
            'gpt-4o-mini', 200 + cityHash64(s, k, 2) % 2000, 300 + cityHash64(s, k, 2) % 1000, NULL, {text_in}, 'str',
            NULL, 'str', '{{}}', '{{}}', false,
            if(cityHash64(s, k, 5) % 100 = 0, '["output: cut at max_field_chars"]', '[]'), '0.1.0', '{{}}',
            1, 1, '["gpt-4o-mini"]', 300 + cityHash64(s, k, 18) % 1500, 350 + cityHash64(s, k, 18) % 1500
        {per_task}""",
        f"""INSERT INTO phospho_store.tasks (task_id, eval_flag, eval_reason, eval_model, eval_prompt_version,
            eval_cost_usd, eval_at_ms, llm_events, llm_errors)
        SELECT {task_id}, {eval_flag.format(k='k')}, 'the answer addresses the request', 'gpt-4o-mini', 'bench-p1',
            0.00002 + (cityHash64(s, k, 17) % 100) / 10000000.0, {at.format(k='k')} + 3000,
            if(cityHash64(s, k, 19) % 20 = 0, '["off topic"]', '[]'), '[]'
        {per_task} WHERE {has_eval.format(k='k')}""",
        f"INSERT INTO phospho_store.tasks (task_id, window_id) SELECT {task_id}, wid {per_task}",
        f"""INSERT INTO phospho_store.tasks (task_id, language, sentiment_score, sentiment_magnitude, sentiment_label,
            sentiment_method, events, cost_usd, cost_note, analytics_truncated, analytics_errors, analytics_version,
            analyzed_at_ms)
        SELECT {task_id}, {lang.format(k='k')}, {sent.format(k='k')}, abs({sent.format(k='k')}),
            multiIf({sent.format(k='k')} > 0.05, 'positive', {sent.format(k='k')} < -0.05, 'negative', 'neutral'),
            'vader', if({event.format(k='k')} = '', '[]', concat('["', {event.format(k='k')}, '"]')),
            {cost.format(k='k')}, '', '[]', '[]', 'bench-v1', {at.format(k='k')} + 900
        {per_task}""",
        f"""INSERT INTO phospho_store.tasks (task_id, feedback_flag, feedback_at_ms)
        SELECT {task_id}, {flag.format(k='k')}, {at.format(k='k')} + 5000 {per_task} WHERE {has_flag.format(k='k')}""",
        f"""INSERT INTO phospho_store.feedback (event_id, project_id, task_id, session_id, user_id, flag, source,
            created_at_ms, errors, redactions, orphan)
        SELECT hex(cityHash64(s, k, 13)), 'bench-insights', {task_id}, sid, uid, {flag.format(k='k')}, 'user',
            {at.format(k='k')} + 5000, '[]', '{{}}', false {per_task} WHERE {has_flag.format(k='k')}""",
        f"""INSERT INTO phospho_store.events (task_id, event_name, source, session_id, user_id, detection_scope, score,
            score_type, label, analytics_version, created_at_ms, detected_at_ms, version, is_deleted)
        SELECT {task_id}, {event.format(k='k')}, 'keyword', sid, uid, 'task', 1.0, 'confidence', NULL, 'bench-v1',
            {at.format(k='k')}, {at.format(k='k')} + 900, 1, 0 {per_task} WHERE {event.format(k='k')} != ''""",
        f"INSERT INTO phospho_store.sessions {WINDOW_COLUMNS} {window('L', '2')}",
        f"INSERT INTO phospho_store.sessions {WINDOW_COLUMNS} {window('(L - 1)', '1')} WHERE L > 1",
    ]
    for sql in statements:
        store.command(sql)


def topics_run(store: Any, sessions: int, size: int) -> None:
    """A topics run over the latest ~20,000 tasks (the last 4,000 sessions), as `phospho-stream topics`
    writes it: 12 topics and each task's topic."""
    run, at = f"bench-run-{size}", T0_MS + sessions * 40000
    store.command(f"""INSERT INTO phospho_store.topics (run_id, topic_id, name, size, examples, terms, method, created_at_ms)
        SELECT '{run}', number, concat('topic ', toString(number)), 0, '["an example"]', '["term"]', 'kmeans', {at}
        FROM numbers(12)""")
    store.command(f"""INSERT INTO phospho_store.task_topics (run_id, task_id, topic_id, created_at_ms)
        SELECT '{run}', concat('task-', hex(cityHash64(s, k))), cityHash64(s, k, 20) % 12, {at}
        FROM (SELECT number AS s, 1 + cityHash64(number) % 9 AS L FROM numbers({max(0, sessions - 4000)}, {min(4000, sessions)}))
        ARRAY JOIN range(L) AS k""")


def timed(store: Any, sql: str, repeats: int, tuning: dict[str, Any] | None = None) -> dict[str, Any]:
    runs: list[float] = []
    try:
        for _ in range(repeats):
            t = time.perf_counter()
            read_only_query(store, sql, tuning=tuning)
            runs.append(time.perf_counter() - t)
    except Exception as exc:  # noqa: BLE001 - reported with the figures
        return {"runs": runs, "median": None, "error": str(exc).splitlines()[0][:300]}
    return {"runs": runs, "median": statistics.median(runs), "error": None}


def main(cfg: dict[str, Any]) -> dict[str, Any]:
    store = connect(f"chdb://{cfg['chdb_dir']}")
    migrate(store)
    inputs, answers = _array(cfg["inputs"]), _array(cfg["answers"])
    sizes, done = [], 0
    for target in cfg["sizes"]:
        sessions, t0 = max(1, target // 5), time.perf_counter()
        while done < sessions:
            chunk = min(200_000, sessions - done)
            generate(store, done, chunk, max(1, sessions // 10), inputs, answers)
            done += chunk
        topics_run(store, sessions, target)
        generated = time.perf_counter() - t0
        counts = store.query("""SELECT (SELECT count() FROM phospho_store.tasks), (SELECT sum(task_count) FROM phospho.sessions),
            (SELECT count() FROM phospho.sessions), (SELECT count() FROM phospho_store.sessions),
            (SELECT count() FROM phospho.feedback), (SELECT count() FROM phospho_store.events)""").rows[0]
        size: dict[str, Any] = dict(zip(("task_rows", "tasks", "windows", "window_rows", "feedback", "events"),
                                        map(int, counts), strict=True))
        size["generate_seconds"] = generated
        size["queries"] = [{"title": title, **timed(store, sql, cfg["repeats"], INSIGHT_TUNING)}
                           for title, sql in INSIGHTS]
        size["task_queries"] = [{"title": title, **timed(store, sql, cfg["repeats"])} for title, sql in TASK_QUERIES]
        sizes.append(size)
        print(f"insights: {size['tasks']:,} tasks ({size['task_rows']:,} partial rows) generated in {generated:.0f} s; "
              f"slowest query {max((q['median'] or 0) for q in size['queries']):.3f} s", flush=True)
    store.close()
    return {"sizes": sizes}


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        config = json.load(f)
    outcome = main(config)
    with open(config["result_path"], "w") as f:
        json.dump(outcome, f)
