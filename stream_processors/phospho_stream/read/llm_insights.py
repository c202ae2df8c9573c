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

__all__ = ["LLM_INSIGHTS", "VERSIONS_SQL", "EVENT_RATES_SQL", "EVALUATION_SQL", "TOPICS_SQL"]

_Z = "1.96"


def _wilson(successes: str, trials: str, sign: str) -> str:
    """The bound (sign '-' low, '+' high) of the 95% Wilson interval, NULL without trials."""
    n, p = f"nullIf({trials}, 0)", f"({successes} / nullIf({trials}, 0))"
    return (f"round(({p} + {_Z}*{_Z} / (2 * {n}) {sign} {_Z} * sqrt({p} * (1 - {p}) / {n} + {_Z}*{_Z} / (4 * {n} * {n})))"
            f" / (1 + {_Z}*{_Z} / {n}), 3)")


def _p(expression: str) -> str:
    return f"if(isNaN({expression}), NULL, round({expression}, 4))"


def _welch_states(column: str, name: str) -> str:
    """A version's side of Welch's test on `column` (its non-NULL values), as group 1 (the
    version) and as group 0 (the baseline, merged into every other version's)."""
    x, known = f"assumeNotNull({column})", f"isNotNull({column})"
    return (f"welchTTestStateIf({x}, toUInt8(1), {known}) AS {name}_1, "
            f"welchTTestStateIf({x}, toUInt8(0), {known}) AS {name}_0")


def _welch_p(name: str) -> str:
    return _p(f"arrayReduce('welchTTestMerge', [{name}_1, base_{name}_0]).2")


# one read of the tasks, grouped by version; every figure against the baseline comes from the
# baseline's row (its counts, its side of each Welch test), found over these few rows
_PER_VERSION = f"""SELECT coalesce(nullIf(version_id, ''), '(none)') AS version, min(created_at) AS first_at,
        count() AS tasks, countIf(flag = 'success') AS successes, countIf(flag IN ('success', 'failure')) AS flagged,
        avg(sentiment_score) AS mean_sentiment, avg(cost_usd) AS mean_cost, avg(latency) AS mean_latency,
        {_welch_states('sentiment_score', 'sentiment')}, {_welch_states('cost_usd', 'cost')},
        {_welch_states('latency', 'latency')}
    FROM (SELECT version_id, created_at, flag, sentiment_score, cost_usd,
              if(llm_call_count > 0, toFloat64(llm_latency_ms), NULL) AS latency FROM phospho.tasks)
    GROUP BY version"""

VERSIONS_SQL = f"""SELECT version, version = baseline AS is_baseline, tasks,
    {_wilson('successes', 'flagged', '-')} AS success_low, round(successes / nullIf(flagged, 0), 3) AS success_rate,
    {_wilson('successes', 'flagged', '+')} AS success_high,
    if(version = baseline, NULL, {_p("proportionsZTest(successes, base_successes, flagged, base_flagged, 0.95, 'unpooled').2")})
        AS p_success,
    round(mean_sentiment, 3) AS sentiment, if(version = baseline, NULL, {_welch_p('sentiment')}) AS p_sentiment,
    round(mean_cost, 6) AS cost_per_task, if(version = baseline, NULL, {_welch_p('cost')}) AS p_cost,
    round(mean_latency) AS llm_latency_ms, if(version = baseline, NULL, {_welch_p('latency')}) AS p_latency
FROM (
    SELECT *, anyIf(successes, version = baseline) OVER () AS base_successes,
        anyIf(flagged, version = baseline) OVER () AS base_flagged,
        anyIf(sentiment_0, version = baseline) OVER () AS base_sentiment_0,
        anyIf(cost_0, version = baseline) OVER () AS base_cost_0,
        anyIf(latency_0, version = baseline) OVER () AS base_latency_0
    FROM (SELECT *, argMin(version, (first_at, version)) OVER () AS baseline FROM ({_PER_VERSION})))
ORDER BY is_baseline DESC, version"""

EVENT_RATES_SQL = f"""SELECT event_name, version, tasks, hits, round(hits / tasks, 4) AS rate,
    round(base_hits / nullIf(base_tasks, 0), 4) AS baseline_rate,
    if(version = baseline, NULL, {_p("proportionsZTest(hits, base_hits, tasks, base_tasks, 0.95, 'unpooled').2")})
        AS p_value
FROM (
    SELECT event_name, version, tasks, hits, baseline,
        toUInt64(anyIf(hits, version = baseline) OVER (PARTITION BY event_name)) AS base_hits,
        toUInt64(anyIf(tasks, version = baseline) OVER (PARTITION BY event_name)) AS base_tasks
    FROM (
        -- every (event, version) pair, with no hit where none was found
        SELECT event_name, version, tasks, baseline, toUInt64(found.2[indexOf(found.1, event_name)]) AS hits
        FROM (
            SELECT version, tasks, found, argMin(version, (first_at, version)) OVER () AS baseline,
                arrayDistinct(flatten(groupArray(found.1) OVER ())) AS names
            FROM (
                -- one read of the tasks: per version its tasks and how many of them found each event
                SELECT coalesce(nullIf(version_id, ''), '(none)') AS version, count() AS tasks,
                    min(created_at) AS first_at, sumMap(events, arrayMap(e -> toUInt64(1), events)) AS found
                FROM phospho.tasks GROUP BY version))
        ARRAY JOIN names AS event_name))
ORDER BY event_name, version != baseline, version"""

EVALUATION_SQL = """SELECT count() AS evaluated, countIf(eval_flag = 'success') AS success,
    countIf(eval_flag = 'failure') AS failure, countIf(eval_flag = 'undefined') AS undefined,
    countIf(isNotNull(feedback_flag)) AS with_user_feedback,
    round(countIf(feedback_flag = eval_flag) / nullIf(countIf(isNotNull(feedback_flag)
        AND eval_flag IN ('success', 'failure')), 0), 3) AS agreement_with_users,
    round(sum(eval_cost_usd), 4) AS llm_cost_usd
FROM phospho.tasks WHERE isNotNull(eval_flag)"""

# the run's tasks read by key (with optimize_move_to_prewhere_if_final, see INSIGHT_TUNING, before
# the merge of partial rows); the latest task's time from the windows (a window ends at its latest task)
TOPICS_SQL = """WITH (SELECT argMax(run_id, created_at) FROM phospho.topics) AS latest
SELECT topic_id, any(name) AS name, count() AS tasks,
    round(countIf(flag = 'success') / nullIf(countIf(flag IN ('success', 'failure')), 0), 3) AS success_rate,
    round(avg(sentiment_score), 3) AS sentiment,
    countIf(created_at >= (SELECT max(end_time) FROM phospho.sessions) - INTERVAL 1 DAY) AS last_day
FROM (SELECT topic_id, task_id FROM phospho.task_topics WHERE run_id = latest) AS tt
INNER JOIN (SELECT task_id, flag, sentiment_score, created_at FROM phospho.tasks
            WHERE task_id IN (SELECT task_id FROM phospho.task_topics WHERE run_id = latest)) AS t USING (task_id)
INNER JOIN (SELECT topic_id, name FROM phospho.topics WHERE run_id = latest) AS tp USING (topic_id)
GROUP BY topic_id ORDER BY tasks DESC, topic_id"""

#: (title, SQL) pairs, each reading only the views
LLM_INSIGHTS: tuple[tuple[str, str], ...] = (
    ("Versions compared (baseline: the oldest version; p-values against it)", VERSIONS_SQL),
    ("Event rates by version", EVENT_RATES_SQL),
    ("LLM evaluation (the judge's verdicts; agreement where users flagged too)", EVALUATION_SQL),
    ("Topics of the latest run (phospho-stream topics)", TOPICS_SQL),
)
