"""The insights written for speed (one read of the windows, one read of the tasks, the tasks of a
topics run by key) answer as the straightforward SQL does, on stores of random tasks written as
the stages write them: partial rows, re-analysed tasks, window versions and deleted windows,
several app versions, two topics runs. Each store lives in a child process (one chDB path per
process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from phospho_stream.read.llm_insights import _p, _wilson

# the straightforward SQL: each figure read from the view that defines it
_BASELINE = """(SELECT coalesce(nullIf(version_id, ''), '(none)') AS v FROM phospho.tasks
    GROUP BY v ORDER BY min(created_at), v LIMIT 1)"""

REFERENCE = {
    "Overview": """SELECT (SELECT count() FROM phospho.tasks) AS tasks, (SELECT count() FROM phospho.sessions) AS sessions,
        (SELECT count() FROM phospho.users) AS users, (SELECT count() FROM phospho.feedback) AS feedback,
        (SELECT count() FROM phospho.events) AS detections, (SELECT round(sum(cost_usd), 6) FROM phospho.sessions) AS total_cost_usd,
        (SELECT count() FROM phospho.dead_letters) AS dead_letters""",
    "Events (detections per event)": """SELECT event_name, count() AS detections, uniqExact(task_id) AS tasks,
        uniqExact(session_id) AS sessions, uniqExact(user_id) AS users, arrayStringConcat(arraySort(groupUniqArray(source)), ', ') AS source,
        max(created_at) AS last_seen FROM phospho.events GROUP BY event_name ORDER BY detections DESC, event_name LIMIT 20""",
    "Versions compared": f"""WITH {_BASELINE} AS baseline,
    (SELECT groupUniqArray(coalesce(nullIf(version_id, ''), '(none)')) FROM phospho.tasks) AS versions
SELECT version, version = baseline AS is_baseline, tasks,
    {_wilson('successes', 'flagged', '-')} AS success_low, round(successes / nullIf(flagged, 0), 3) AS success_rate,
    {_wilson('successes', 'flagged', '+')} AS success_high,
    if(version = baseline, NULL, {_p("proportionsZTest(successes, base_successes, flagged, base_flagged, 0.95, 'unpooled').2")})
        AS p_success,
    round(mean_sentiment, 3) AS sentiment, if(version = baseline, NULL, {_p('p_sentiment')}) AS p_sentiment,
    round(mean_cost, 6) AS cost_per_task, if(version = baseline, NULL, {_p('p_cost')}) AS p_cost,
    round(mean_latency) AS llm_latency_ms, if(version = baseline, NULL, {_p('p_latency')}) AS p_latency
FROM (
    SELECT v AS version,
        countIf(g = 1 OR v = baseline) AS tasks,
        countIf((g = 1 OR v = baseline) AND flag = 'success') AS successes,
        countIf((g = 1 OR v = baseline) AND flag IN ('success', 'failure')) AS flagged,
        countIf(g = 0 AND flag = 'success') AS base_successes,
        countIf(g = 0 AND flag IN ('success', 'failure')) AS base_flagged,
        avgIf(sentiment_score, g = 1 OR v = baseline) AS mean_sentiment,
        avgIf(cost_usd, g = 1 OR v = baseline) AS mean_cost, avgIf(latency, g = 1 OR v = baseline) AS mean_latency,
        welchTTest(sentiment_score, g).2 AS p_sentiment, welchTTest(cost_usd, g).2 AS p_cost,
        welchTTest(latency, g).2 AS p_latency
    FROM (
        SELECT coalesce(nullIf(version_id, ''), '(none)') AS own, flag, sentiment_score, cost_usd,
            if(llm_call_count > 0, toFloat64(llm_latency_ms), NULL) AS latency,
            arrayJoin(if(own = baseline, versions, [own])) AS v, toUInt8(own != baseline) AS g
        FROM phospho.tasks)
    GROUP BY version)
ORDER BY is_baseline DESC, version""",
    "Event rates by version": f"""WITH {_BASELINE} AS baseline
SELECT event_name, version, tasks, hits, round(hits / tasks, 4) AS rate,
    round(base_hits / nullIf(base_tasks, 0), 4) AS baseline_rate,
    if(version = baseline, NULL, {_p("proportionsZTest(hits, base_hits, tasks, base_tasks, 0.95, 'unpooled').2")})
        AS p_value
FROM (
    SELECT event_name, version, tasks, hits,
        toUInt64(anyIf(hits, version = baseline) OVER (PARTITION BY event_name)) AS base_hits,
        toUInt64(anyIf(tasks, version = baseline) OVER (PARTITION BY event_name)) AS base_tasks
    FROM (
        SELECT names.event_name AS event_name, per_version.version AS version, per_version.tasks AS tasks,
            toUInt64(ifNull(found.hits, 0)) AS hits
        FROM (SELECT coalesce(nullIf(version_id, ''), '(none)') AS version, count() AS tasks FROM phospho.tasks
              GROUP BY version) AS per_version
        CROSS JOIN (SELECT DISTINCT arrayJoin(events) AS event_name FROM phospho.tasks) AS names
        LEFT JOIN (SELECT coalesce(nullIf(version_id, ''), '(none)') AS version, arrayJoin(events) AS event_name,
                       count() AS hits FROM phospho.tasks GROUP BY version, event_name) AS found
            ON found.version = per_version.version AND found.event_name = names.event_name))
ORDER BY event_name, version != baseline, version""",
    "Topics of the latest run": """WITH (SELECT argMax(run_id, created_at) FROM phospho.topics) AS latest
SELECT topic_id, any(name) AS name, count() AS tasks,
    round(countIf(flag = 'success') / nullIf(countIf(flag IN ('success', 'failure')), 0), 3) AS success_rate,
    round(avg(sentiment_score), 3) AS sentiment,
    countIf(created_at >= (SELECT max(created_at) FROM phospho.tasks) - INTERVAL 1 DAY) AS last_day
FROM (SELECT topic_id, task_id FROM phospho.task_topics WHERE run_id = latest) AS tt
INNER JOIN (SELECT task_id, flag, sentiment_score, created_at FROM phospho.tasks) AS t USING (task_id)
INNER JOIN (SELECT topic_id, name FROM phospho.topics WHERE run_id = latest) AS tp USING (topic_id)
GROUP BY topic_id ORDER BY tasks DESC, topic_id""",
}

# a store of random tasks, then every rewritten insight and its reference, as JSON
_CHILD = """
import json, random, sys
from phospho_sinks import connect, migrate, read_only_query
from phospho_stream.read.insights import INSIGHT_TUNING, INSIGHTS
from tests.support.store_rows import event, feedback, task, window, write

store, rng, reference = connect(sys.argv[1]), random.Random(int(sys.argv[2])), json.loads(sys.argv[3])
migrate(store)
T0, H = 1_700_000_000_000, 3_600_000
EVENTS = ["refund", "thanks", "angry"]
own, windows, partial, events, feedbacks, topics = [], [], [], [], [], []
for s in range(60):
    user, at = f"u{rng.randrange(12)}", T0 + rng.randrange(72) * H
    version = rng.choice(["v1", "v2", "", None])
    times = sorted(at + rng.randrange(H) for _ in range(rng.randint(1, 6)))
    ids = [f"t{s}-{k}" for k in range(len(times))]
    for t, when in zip(ids, times):
        calls = rng.choice([0, 1, 2])
        own.append(task(t, user, f"s{s}", f"k{s}|{ids[0]}", when, 10, version_id=version, llm_call_count=calls,
                        llm_latency_ms=rng.randint(100, 900) if calls else None))
        for _ in range(rng.choice([0, 1, 1, 2])):  # not analysed yet, analysed, re-analysed
            names = rng.sample(EVENTS, rng.randint(0, 2))
            score = rng.choice([None, round(rng.uniform(-1, 1), 3)])
            partial.append({"task_id": t, "sentiment_score": score, "cost_usd": rng.choice([None, rng.uniform(0, 0.01)]),
                            "events": json.dumps(names), "analytics_version": "a1"})
            events += [event(t, n, 1, f"s{s}", rng.choice([user, None]), at_ms=when) for n in names]
            events += [event(t, n, 2, f"s{s}", user, deleted=1, at_ms=when) for n in names if rng.random() < 0.2]
        if rng.random() < 0.6:
            partial.append({"task_id": t, "eval_flag": rng.choice(["success", "failure", "undefined"]),
                            "llm_events": json.dumps(rng.sample(EVENTS, rng.randint(0, 1)))})
        if rng.random() < 0.3:
            flag = rng.choice(["success", "failure"])
            partial.append({"task_id": t, "feedback_flag": flag, "feedback_at_ms": when + 1})
            feedbacks.append(feedback(f"f-{t}", t, flag, when + 1, f"s{s}", user))
        if rng.random() < 0.5:
            topics.append({"run_id": "r2", "task_id": t, "topic_id": rng.randrange(4), "created_at_ms": T0 + 80 * H})
    if len(times) > 1:
        windows.append(window(f"k{s}|{ids[0]}", f"s{s}", user, times[0], times[-2], len(times) - 1, "x", 1))
    windows.append(window(f"k{s}|{ids[0]}", f"s{s}", user, times[0], times[-1], len(times), "y", 2,
                          cost_usd=rng.uniform(0, 1), failures=rng.randint(0, 2)))
    if rng.random() < 0.2:  # a window merged into another
        windows.append(window(f"k{s}|gone", f"s{s}", user, times[0], times[-1], 1, "z", 3, deleted=1))
topics += [{"run_id": "r2", "task_id": "never-logged", "topic_id": 0, "created_at_ms": T0 + 80 * H},
           {"run_id": "r1", "task_id": own[0]["task_id"], "topic_id": 9, "created_at_ms": T0}]
write(store, "tasks", own)
write(store, "tasks", partial)
write(store, "events", events)
write(store, "feedback", feedbacks)
write(store, "sessions", windows)
write(store, "topics", [{"run_id": r, "topic_id": i, "name": f"{r} topic {i}", "size": 0, "examples": "[]",
                         "terms": "[]", "method": "kmeans", "created_at_ms": at} for r, at in (("r1", T0), ("r2", T0 + 80 * H))
                        for i in (*range(4), 9)])
write(store, "task_topics", topics)
out = {}
for title, sql in INSIGHTS:
    name = next((n for n in reference if title.startswith(n)), None)
    if name:
        out[name] = {"rewritten": read_only_query(store, sql, tuning=INSIGHT_TUNING).dicts(),
                     "reference": read_only_query(store, reference[name]).dicts()}
print(json.dumps(out, default=str))
"""


@pytest.fixture(scope="module", params=[1, 2, 3])
def answers(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(f"rewrites-{request.param}")
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", _CHILD, f"chdb://{path}", str(request.param), json.dumps(REFERENCE)],
                          capture_output=True, text=True, timeout=300, cwd=root)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_the_rewritten_insight_answers_as_the_straightforward_sql(answers, name):
    assert answers[name]["rewritten"], f"{name}: the store gave no rows to compare"
    assert answers[name]["rewritten"] == answers[name]["reference"]
