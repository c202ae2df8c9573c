"""The insights of the analysis stages, as SQL on the views: events, languages, sentiment, cost.

Figures a session sums come from phospho.sessions (one row per window, far fewer than tasks);
those it does not (per model, per label) from phospho.tasks."""

from __future__ import annotations

__all__ = ["ANALYSIS_INSIGHTS"]

#: (title, SQL) pairs, after the session and user insights
ANALYSIS_INSIGHTS: tuple[tuple[str, str], ...] = (
    # a task detects an event once (the table's key is task and event), so its tasks are its
    # detections; distinct sessions and users counted on a 128-bit hash of the id, as uniqExact
    # does with a string but with a faster hash
    ("Events (detections per event)", """SELECT event_name, count() AS detections, count() AS tasks,
        uniqExact(reinterpretAsUInt128(murmurHash3_128(session_id))) AS sessions,
        uniqExact(reinterpretAsUInt128(murmurHash3_128(user_id))) AS users,
        arrayStringConcat(arraySort(groupUniqArray(source)), ', ') AS source,
        max(created_at) AS last_seen FROM phospho.events GROUP BY event_name ORDER BY detections DESC, event_name LIMIT 20"""),
    ("Languages (analysed tasks)", """SELECT if(lang = '', 'unknown', lang) AS language, n AS tasks,
        round(100 * n / sum(n) OVER (), 1) AS share_pct
        FROM (SELECT sumMap(languages) AS m FROM phospho.sessions) ARRAY JOIN mapKeys(m) AS lang, mapValues(m) AS n
        ORDER BY tasks DESC, language"""),
    ("Sentiment (VADER: English tasks only)", """SELECT ifNull(sentiment_label, if(analyzed,
            concat('not scored: ', replaceAll(ifNull(sentiment_method, ''), '_', ' ')), 'not analysed yet')) AS label,
        count() AS tasks, round(avg(sentiment_score), 3) AS mean_score, round(avg(sentiment_magnitude), 3) AS mean_magnitude
        FROM phospho.tasks GROUP BY label ORDER BY tasks DESC, label"""),
    ("Most negative users (mean sentiment)", """SELECT user_id, round(sentiment_mean, 3) AS mean_sentiment,
        round(sentiment_min, 3) AS lowest, task_count FROM phospho.users WHERE sentiment_mean < 0
        ORDER BY sentiment_mean, user_id LIMIT 10"""),
    ("Cost per model (USD)", """SELECT if(model IS NULL OR model = '', if(empty(span_models), '(none)',
            arrayStringConcat(span_models, ', ')), model) AS model_name, count() AS tasks, round(sum(cost_usd), 6) AS usd,
        countIf(analyzed AND cost_usd IS NULL) AS without_price
        FROM phospho.tasks GROUP BY model_name ORDER BY usd DESC, tasks DESC, model_name LIMIT 10"""),
    ("Cost per day (USD, the last 14 days with tasks)", """SELECT toDate(created_at) AS day, count() AS tasks,
        round(sum(cost_usd), 6) AS usd FROM phospho.tasks GROUP BY day ORDER BY day DESC LIMIT 14"""),
    ("Costliest users (USD)", """SELECT user_id, round(cost_usd, 6) AS usd, task_count,
        round(cost_usd / task_count, 6) AS per_task FROM phospho.users WHERE cost_usd > 0
        ORDER BY cost_usd DESC, user_id LIMIT 10"""),
)
