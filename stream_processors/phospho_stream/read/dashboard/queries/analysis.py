"""The statements of the insights and events pages: figures per day, model and language in one
scan of the tasks; sessions' shapes; users ranked; the events' counts and matches; topics."""

from __future__ import annotations

from .browse import USER_AGGREGATE

__all__ = ["TASK_INSIGHTS", "SESSION_SHAPES", "ENDING_MESSAGES", "USER_RANKINGS", "RANKINGS", "TOPICS",
           "EVENTS_SUMMARY", "EVENT_SESSIONS", "EVENT_MATCHES"]

# Per day (kind 'day'), per model ('model') and per language ('language'), in one scan: tasks,
# feedback and the LLM evaluation's verdicts, tokens, cost, sentiment labels. A task's tokens: its
# total, else prompt + completion; its steps' tokens apart. Its model: the logged one, else its
# steps' models. Aliases never repeat a column's name (the filters read the columns).
TASK_INSIGHTS = """SELECT multiIf(grouping(day) = 0, 'day', grouping(model_name) = 0, 'model', 'language') AS kind,
    toString(toDate(t.created_at)) AS day,
    if(t.model IS NULL OR t.model = '', if(empty(t.span_models), '(none)', arrayStringConcat(t.span_models, ', ')), t.model) AS model_name,
    if(t.analyzed, if(t.language = '', 'unknown', t.language), 'not analysed') AS lang,
    count() AS tasks, countIf(t.feedback_flag = 'success') AS success, countIf(t.feedback_flag = 'failure') AS failure,
    countIf(t.eval_flag = 'success') AS eval_success, countIf(t.eval_flag = 'failure') AS eval_failure,
    countIf(isNotNull(t.feedback_flag) AND isNotNull(t.eval_flag)) AS both_flagged,
    countIf(t.feedback_flag = t.eval_flag) AS agreed,
    sum(ifNull(t.prompt_tokens, 0)) AS prompt_tokens, sum(ifNull(t.completion_tokens, 0)) AS completion_tokens,
    sum(ifNull(t.total_tokens, ifNull(t.prompt_tokens, 0) + ifNull(t.completion_tokens, 0))) AS total_tokens,
    sum(t.span_input_tokens + t.span_output_tokens) AS span_tokens,
    sum(ifNull(t.cost_usd, 0)) AS cost, countIf(t.analyzed AND t.cost_usd IS NULL) AS unpriced,
    countIf(t.analyzed) AS analysed_tasks, countIf(t.sentiment_label = 'positive') AS positive,
    countIf(t.sentiment_label = 'negative') AS negative, countIf(t.sentiment_label = 'neutral') AS neutral,
    countIf(t.sentiment_label = 'mixed') AS mixed, countIf(t.analyzed AND t.sentiment_label IS NULL) AS not_scored,
    avg(t.sentiment_score) AS sentiment_avg
    FROM phospho.tasks AS t WHERE /*where*/ GROUP BY GROUPING SETS ((day), (model_name), (lang))
    ORDER BY kind, day, cost DESC, total_tokens + span_tokens DESC, tasks DESC, model_name, lang"""
# sessions per day, the length histogram and the duration distribution, in one scan (and the
# dead letters' count, which no filter narrows)
SESSION_SHAPES = """SELECT count() AS sessions, avg(task_count) AS avg_tasks, avg(duration_s) AS avg_duration_s,
    sumMap([toString(toDate(start_time))], [toUInt64(1)]) AS per_day,
    sumMap([task_count], [toUInt64(1)]) AS lengths,
    sumMap([toUInt32(ceil(log2(duration_s + 1)))], [toUInt64(1)]) AS duration_buckets,
    quantilesExact(0.5, 0.9, 0.99)(duration_s) AS duration_quantiles, max(duration_s) AS max_duration_s,
    (SELECT count() FROM phospho.dead_letters) AS dead_letters
    FROM phospho.sessions WHERE /*where*/"""
ENDING_MESSAGES = """SELECT leftUTF8(last_input, 240) AS message, count() AS sessions_ended, avg(task_count) AS avg_session_tasks
    FROM phospho.sessions WHERE /*where*/ GROUP BY message ORDER BY sessions_ended DESC, message LIMIT {limit:UInt32}"""

#: the rankings of USER_RANKINGS: most tasks; most negative feedback, then tasks with errors;
#: highest cost; lowest mean sentiment (below 0)
RANKINGS = ("power", "struggling", "cost", "negative")
# the first `limit` users of each ranking, in one scan of the session windows
USER_RANKINGS = f"""SELECT ranking, uid AS user_id, n_tasks AS task_count, n_sessions AS session_count,
    successes AS success_count, failures AS failure_count, with_errors AS tasks_with_errors, cost AS cost_usd,
    sentiment AS sentiment_mean, toUnixTimestamp64Milli(last_at) AS last_seen_ms
    FROM ({USER_AGGREGATE}) ARRAY JOIN ['power', 'struggling', 'cost', 'negative'] AS ranking
    WHERE multiIf(ranking = 'struggling', failures + with_errors > 0, ranking = 'cost', cost > 0,
        ranking = 'negative', ifNull(sentiment < 0, 0), 1)
    ORDER BY ranking, multiIf(ranking = 'power', -toFloat64(n_tasks), ranking = 'struggling',
        -toFloat64(failures * 1000000 + with_errors), ranking = 'cost', -cost, ifNull(sentiment, 0)), user_id
    LIMIT {{limit:UInt32}} BY ranking"""

# the topics of the latest clustering run (the evaluation stage's)
TOPICS = """SELECT topic_id, name, size, arraySlice(examples, 1, 3) AS examples, arraySlice(terms, 1, 8) AS terms, method,
    run_id, toUnixTimestamp64Milli(created_at) AS created_ms
    FROM phospho.topics WHERE run_id = (SELECT argMax(run_id, created_at) FROM phospho.topics)
    ORDER BY size DESC, topic_id LIMIT {limit:UInt32}"""

# -- events --------------------------------------------------------------------------------------

# each event's figures and its detections per day, in one scan (uniq: exact for small sets, within
# a percent or two beyond, and much cheaper than uniqExact over every detection)
EVENTS_SUMMARY = """SELECT event_name, count() AS detections, uniq(task_id) AS tasks, uniq(session_id) AS sessions,
    uniq(user_id) AS users, toUnixTimestamp64Milli(min(created_at)) AS first_ms, toUnixTimestamp64Milli(max(created_at)) AS last_ms,
    arraySort(groupUniqArray(source)) AS sources, arraySort(groupUniqArray(detection_scope)) AS scopes, avg(score) AS avg_score,
    sumMap(map(toString(toDate(created_at)), toUInt64(1))) AS per_day
    FROM phospho.events WHERE /*where*/ GROUP BY event_name ORDER BY detections DESC, event_name"""
# how many session windows there are, and how many have each event (the events' reach)
EVENT_SESSIONS = """SELECT count() AS sessions, sumMap(mapApply((k, v) -> (k, toUInt64(v > 0)), event_counts)) AS with_event
    FROM phospho.sessions WHERE /*where*/"""
# one page of an event's detections, newest first, and how many match (the tasks' text comes by key)
EVENT_MATCHES = """SELECT task_id, session_id, user_id, score, score_type, label, source, detection_scope,
    toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(detected_at) AS detected_ms,
    count() OVER () AS total
    FROM phospho.events WHERE /*where*/ ORDER BY created_at DESC, task_id LIMIT {limit:UInt32} OFFSET {offset:UInt64}"""
