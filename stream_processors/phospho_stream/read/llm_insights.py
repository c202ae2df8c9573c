"""The insights of the LLM stages, as SQL on the analysts' views: app versions compared (with
the significance of each difference, computed by ClickHouse), the judge's verdicts and how
often users agree with them, and the latest topics run. `insights` shows them last.

Versions: a task's version is phospho's metadata `version_id` (none: '(none)'). The baseline is
the version whose first task is the oldest (phospho's "first version"). Success rate counts
flagged tasks only (the user's flag, else the judge's: unflagged is not failure), with its 95%
Wilson interval; the p-values are two-sided: proportionsZTest (unpooled) for rates, welchTTest
for means (sentiment, cost per task, LLM latency); NULL when a side has too few tasks to tell.
"""

from __future__ import annotations

__all__ = ["LLM_INSIGHTS", "VERSIONS_SQL", "EVENT_RATES_SQL", "EVALUATION_SQL", "TOPICS_SQL", "BASELINE_SQL"]

#: the version whose first task is the oldest
BASELINE_SQL = """(SELECT coalesce(nullIf(version_id, ''), '(none)') AS v FROM phospho.tasks
    GROUP BY v ORDER BY min(created_at), v LIMIT 1)"""

_Z = "1.96"


def _wilson(successes: str, trials: str, sign: str) -> str:
    """The bound (sign '-' low, '+' high) of the 95% Wilson interval, NULL without trials."""
    n, p = f"nullIf({trials}, 0)", f"({successes} / nullIf({trials}, 0))"
    return (f"round(({p} + {_Z}*{_Z} / (2 * {n}) {sign} {_Z} * sqrt({p} * (1 - {p}) / {n} + {_Z}*{_Z} / (4 * {n} * {n})))"
            f" / (1 + {_Z}*{_Z} / {n}), 3)")


def _p(expression: str) -> str:
    return f"if(isNaN({expression}), NULL, round({expression}, 4))"


VERSIONS_SQL = f"""WITH {BASELINE_SQL} AS baseline,
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
            -- a baseline task counts for the baseline and, as group 0, against every other version
            arrayJoin(if(own = baseline, versions, [own])) AS v, toUInt8(own != baseline) AS g
        FROM phospho.tasks)
    GROUP BY version)
ORDER BY is_baseline DESC, version"""

EVENT_RATES_SQL = f"""WITH {BASELINE_SQL} AS baseline
SELECT event_name, version, tasks, hits, round(hits / tasks, 4) AS rate,
    round(base_hits / nullIf(base_tasks, 0), 4) AS baseline_rate,
    if(version = baseline, NULL, {_p("proportionsZTest(hits, base_hits, tasks, base_tasks, 0.95, 'unpooled').2")})
        AS p_value
FROM (
    SELECT event_name, version, tasks, hits,
        toUInt64(anyIf(hits, version = baseline) OVER (PARTITION BY event_name)) AS base_hits,
        toUInt64(anyIf(tasks, version = baseline) OVER (PARTITION BY event_name)) AS base_tasks
    FROM (
        -- every (event, version) pair, with no hit where none was found (reads may join with NULLs)
        SELECT names.event_name AS event_name, per_version.version AS version, per_version.tasks AS tasks,
            toUInt64(ifNull(found.hits, 0)) AS hits
        FROM (SELECT coalesce(nullIf(version_id, ''), '(none)') AS version, count() AS tasks FROM phospho.tasks
              GROUP BY version) AS per_version
        CROSS JOIN (SELECT DISTINCT arrayJoin(events) AS event_name FROM phospho.tasks) AS names
        LEFT JOIN (SELECT coalesce(nullIf(version_id, ''), '(none)') AS version, arrayJoin(events) AS event_name,
                       count() AS hits FROM phospho.tasks GROUP BY version, event_name) AS found
            ON found.version = per_version.version AND found.event_name = names.event_name))
ORDER BY event_name, version != baseline, version"""

EVALUATION_SQL = """SELECT count() AS evaluated, countIf(eval_flag = 'success') AS success,
    countIf(eval_flag = 'failure') AS failure, countIf(eval_flag = 'undefined') AS undefined,
    countIf(isNotNull(feedback_flag)) AS with_user_feedback,
    round(countIf(feedback_flag = eval_flag) / nullIf(countIf(isNotNull(feedback_flag)
        AND eval_flag IN ('success', 'failure')), 0), 3) AS agreement_with_users,
    round(sum(eval_cost_usd), 4) AS llm_cost_usd
FROM phospho.tasks WHERE isNotNull(eval_flag)"""

TOPICS_SQL = """WITH (SELECT argMax(run_id, created_at) FROM phospho.topics) AS latest
SELECT topic_id, any(name) AS name, count() AS tasks,
    round(countIf(flag = 'success') / nullIf(countIf(flag IN ('success', 'failure')), 0), 3) AS success_rate,
    round(avg(sentiment_score), 3) AS sentiment,
    countIf(created_at >= (SELECT max(created_at) FROM phospho.tasks) - INTERVAL 1 DAY) AS last_day
FROM (SELECT topic_id, task_id FROM phospho.task_topics WHERE run_id = latest) AS tt
INNER JOIN (SELECT task_id, flag, sentiment_score, created_at FROM phospho.tasks) AS t USING (task_id)
INNER JOIN (SELECT topic_id, name FROM phospho.topics WHERE run_id = latest) AS tp USING (topic_id)
GROUP BY topic_id ORDER BY tasks DESC, topic_id"""

#: (title, SQL) pairs, each reading only the views
LLM_INSIGHTS: tuple[tuple[str, str], ...] = (
    ("Versions compared (baseline: the oldest version; p-values against it)", VERSIONS_SQL),
    ("Event rates by version", EVENT_RATES_SQL),
    ("LLM evaluation (the judge's verdicts; agreement where users flagged too)", EVALUATION_SQL),
    ("Topics of the latest run (phospho-stream topics)", TOPICS_SQL),
)
