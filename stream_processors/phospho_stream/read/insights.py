"""`phospho-stream insights`: the session and user insights of the phospho docs, and what the
analysis found (events, languages, sentiment, cost), as SQL.

They read the analysts' views. How long users chat before leaving, how many messages a session
has, what kind of message ends a session; power users, struggling users; which events happen,
in which languages and moods users write, what it costs per model, day and user."""

from __future__ import annotations

import json

from phospho_sinks import QueryResult

from ..settings import ReadSettings
from .analysis_insights import ANALYSIS_INSIGHTS
from .llm_insights import LLM_INSIGHTS
from .query import render
from .reader import Reader
from .source import open_source

__all__ = ["INSIGHTS", "INSIGHT_TUNING", "insight_results", "render_insights", "run_insights"]

#: (title, SQL) pairs; each reads only the views
INSIGHTS: tuple[tuple[str, str], ...] = (
    # every task is in exactly one session window: summing the windows counts the tasks without
    # deduplicating 10M task rows (the same number as count() FROM phospho.tasks); one read of the
    # windows gives tasks, sessions, users (the distinct users of windows, counted on a 128-bit hash
    # of the id as uniqExact does with a string, with a faster hash) and cost
    ("Overview", """SELECT w.tasks AS tasks, w.sessions AS sessions, w.users AS users,
        (SELECT count() FROM phospho.feedback) AS feedback, (SELECT count() FROM phospho.events) AS detections,
        w.total_cost_usd AS total_cost_usd, (SELECT count() FROM phospho.dead_letters) AS dead_letters
        FROM (SELECT sum(task_count) AS tasks, count() AS sessions, uniqExact(reinterpretAsUInt128(murmurHash3_128(user_id))) AS users,
                     round(sum(cost_usd), 6) AS total_cost_usd FROM phospho.sessions) AS w"""),
    ("Tasks per session", """SELECT round(avg(task_count), 2) AS avg_tasks, quantileExact(0.5)(task_count) AS median,
        quantileExact(0.9)(task_count) AS p90, max(task_count) AS max FROM phospho.sessions"""),
    ("Session length distribution (tasks)", """SELECT task_count AS tasks, count() AS sessions
        FROM phospho.sessions GROUP BY task_count ORDER BY task_count LIMIT 20"""),
    ("Session duration (seconds)", """SELECT round(avg(duration_s), 1) AS avg_s, round(quantile(0.5)(duration_s), 1) AS median_s,
        round(quantile(0.9)(duration_s), 1) AS p90_s, round(max(duration_s), 1) AS max_s
        FROM phospho.sessions WHERE task_count > 1"""),
    ("Messages that end sessions", """SELECT last_input AS last_message, count() AS sessions_ended,
        round(avg(task_count), 1) AS avg_session_tasks FROM phospho.sessions
        GROUP BY last_input ORDER BY sessions_ended DESC, last_message LIMIT 10"""),
    ("Power users", """SELECT user_id, task_count, session_count, round(avg_session_tasks, 1) AS avg_session_tasks,
        round(avg_session_duration_s, 1) AS avg_session_s, total_tokens FROM phospho.users
        ORDER BY task_count DESC, user_id LIMIT 10"""),
    ("Struggling users (most negative feedback, then errors)", """SELECT user_id, failure_count AS failures,
        success_count AS successes, round(success_ratio, 2) AS success_ratio, tasks_with_errors
        FROM phospho.users WHERE failure_count > 0 OR tasks_with_errors > 0
        ORDER BY failure_count DESC, tasks_with_errors DESC, user_id LIMIT 10"""),
    *ANALYSIS_INSIGHTS,
    *LLM_INSIGHTS,
)


#: the settings every insight is read with: conditions on the task key (a topics run's tasks) are
#: applied before the merge of a task's partial rows, not after it on every task
INSIGHT_TUNING = {"optimize_move_to_prewhere_if_final": 1}


def insight_results(read: Reader) -> list[tuple[str, QueryResult]]:
    """Every insight's (title, result); `read` runs one locked read."""
    return [(title, read(sql, tuning=INSIGHT_TUNING)) for title, sql in INSIGHTS]


def render_insights(results: list[tuple[str, QueryResult]], fmt: str = "table") -> str:
    """Titled tables (or CSV blocks); JSON: one object, title -> rows."""
    if fmt == "json":
        return json.dumps({title: result.dicts() for title, result in results}, ensure_ascii=False, default=str, indent=1)
    return "\n\n".join(f"== {title} ==\n{render(result, fmt)}" for title, result in results)


def run_insights(settings: ReadSettings, fmt: str = "table") -> str:
    """`phospho-stream insights`: through the running `up`, else on the store."""
    source = open_source(settings)
    try:
        return render_insights(insight_results(source.read), fmt)
    finally:
        source.close()
