"""The dashboard's insights, events and CSV exports over HTTP, on the test session's chDB store:
rows as the stages write them (a task's core row and its analytics row apart, detections with a
retracted one, session windows with their analytics sums, two clustering runs), in two projects
of this module's own (the store is shared). Every insights, events and export statement of
queries/ is run by some request on these rows."""

from __future__ import annotations

import csv
import io
import json
import uuid

import httpx
import pytest

from phospho_sinks import migrate
from phospho_stream.read import serve, store_reader
from phospho_stream.read.dashboard import queries as Q

from tests.support.store_rows import event, task, window, write

T0 = 1_710_000_000_000  # 2024-03-09 16:00 UTC
DAY = 86_400_000
DAY1, DAY2 = "2024-03-09", "2024-03-10"
TAG = uuid.uuid4().hex[:8]
SHOP, LAB = f"shop-{TAG}", f"lab-{TAG}"
ANA, BEN, CAI = (f"{name}-{TAG}" for name in ("ana", "ben", "cai"))
W1, W2, W3 = (f"s:{name}-{TAG}|t1" for name in ("w1", "w2", "w3"))
T1, T2, T3, T4, T5, T6 = (f"t{i}-{TAG}" for i in range(1, 7))
REFUND, ORDER = f"refund {TAG}", f"order number {TAG}"
TRICKY = f'Refund, please "now"\nthanks {TAG}'  # a comma, quotes and a line break: quoted in CSV
EXECUTED: list[str] = []


def _analysis(task_id, language, score, label, events, cost, method="vader"):
    return {"task_id": task_id, "language": language, "sentiment_score": score,
            "sentiment_magnitude": None if score is None else abs(score), "sentiment_label": label,
            "sentiment_method": method, "events": json.dumps(events), "cost_usd": cost,
            "cost_note": "unknown model" if cost is None else "genai-prices", "analytics_version": "r1-test",
            "analyzed_at_ms": T0}


# (task, user, session, window, at, model, project, feedback, eval) and its analysis
TASKS = [
    ((T1, ANA, f"w1-{TAG}", W1, T0, "gpt-4o", SHOP, "success", "success"), ("en", 0.7, "positive", [REFUND], 0.01)),
    ((T2, ANA, f"w1-{TAG}", W1, T0 + 60_000, "gpt-4o", SHOP, "failure", "success"), ("en", -0.9, "negative", [REFUND, ORDER], 0.02)),
    ((T3, BEN, f"w2-{TAG}", W2, T0 + DAY, "gpt-4o-mini", SHOP, None, "failure"), ("fr", None, None, [ORDER], 0.005)),
    ((T4, BEN, f"w2-{TAG}", W2, T0 + DAY + 60_000, "my-model", SHOP, None, None), ("fr", None, None, [], None)),
    ((T5, CAI, f"w3-{TAG}", W3, T0 + DAY + 1_000, "claude-3", LAB, None, None), ("en", 0.0, "neutral", [REFUND], 0.001)),
    ((T6, CAI, f"w3-{TAG}", W3, T0 + DAY + 2_000, "claude-3", LAB, None, None), ("", 0.0, "neutral", [], 0.001)),
]


@pytest.fixture(scope="module")
def api(chdb_store):
    migrate(chdb_store)
    core = [task(tid, user, session, win, at, 10, model=model, project_id=project, version_id=f"v-{TAG}",
                 input=TRICKY if tid == T1 else f"input of {tid}", feedback_flag=flag, eval_flag=verdict,
                 eval_reason=f"reason {tid}" if verdict else None)
            for (tid, user, session, win, at, model, project, flag, verdict), _ in TASKS]
    write(chdb_store, "tasks", core)
    write(chdb_store, "tasks", [_analysis(t[0], *a, method="unsupported_language" if a[0] == "fr" else "vader")
                                for t, a in TASKS])
    detections = [event(tid, name, 1, session, user, at_ms=at)
                  for (tid, user, session, _, at, *_), (_, _, _, names, _) in TASKS for name in names]
    detections += [event(T4, ORDER, 2, f"w2-{TAG}", BEN, deleted=1, at_ms=T0 + DAY + 60_000),  # retracted at once
                   event(T3, REFUND, 1, f"w2-{TAG}", BEN, at_ms=T0 + DAY),  # detected, then retracted
                   event(T3, REFUND, 2, f"w2-{TAG}", BEN, deleted=1, at_ms=T0 + DAY)]
    write(chdb_store, "events", detections)
    write(chdb_store, "sessions", [
        window(W1, f"w1-{TAG}", ANA, T0, T0 + 60_000, 2, f"input of {T2}", 1, successes=1, failures=1, languages={"en": 2},
               sentiment_sum=-0.2, sentiment_count=2, sentiment_min=-0.9, event_counts={REFUND: 2, ORDER: 1},
               cost_usd=0.03, analyzed_count=2),
        window(W2, f"w2-{TAG}", BEN, T0 + DAY, T0 + DAY + 60_000, 2, f"input of {T4}", 1, languages={"fr": 2},
               event_counts={ORDER: 1}, cost_usd=0.005, analyzed_count=2),
        window(W3, f"w3-{TAG}", CAI, T0 + DAY + 1_000, T0 + DAY + 2_000, 2, f"input of {T6}", 1,
               languages={"en": 1, "": 1}, sentiment_sum=0.0, sentiment_count=2, sentiment_min=0.0,
               event_counts={REFUND: 1}, cost_usd=0.002, analyzed_count=2)])
    latest = 4_000_000_000_000  # the newest run of the whole store (2096)
    write(chdb_store, "topics", [
        {"run_id": f"old-{TAG}", "topic_id": 1, "name": "old", "size": 9, "examples": "[]", "terms": "[]",
         "method": "tfidf-kmeans", "created_at_ms": T0},
        *[{"run_id": f"new-{TAG}", "topic_id": i, "name": name, "size": size, "examples": json.dumps([f"e{k}" for k in range(5)]),
           "terms": json.dumps([name]), "method": "tfidf-kmeans", "created_at_ms": latest}
          for i, name, size in ((1, f"orders {TAG}", 2), (2, f"refunds {TAG}", 3))]])
    read = store_reader(chdb_store)

    def recorded(sql, params=None, tuning=None):
        EXECUTED.append(sql)
        return read(sql, params, tuning)

    server = serve(recorded)
    with httpx.Client(base_url=server.url.rstrip("/"), headers={"Authorization": f"Bearer {server.token}"},
                      trust_env=False, timeout=30) as client:
        yield client
    server.stop()


def get(api, path, **params):
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_events_count_detections_tasks_sessions_users_and_days(api):
    body = get(api, "/api/events", project=SHOP)
    events = {e["event_name"]: e for e in body["events"]}
    assert list(events) == [REFUND, ORDER] or list(events) == [ORDER, REFUND]
    refund, order = events[REFUND], events[ORDER]
    assert (refund["detections"], refund["tasks"], refund["sessions"], refund["users"]) == (2, 2, 1, 1)
    assert (order["detections"], order["tasks"], order["users"]) == (2, 2, 2)  # T4's and T3's retracted ones are not
    assert refund["days"] == [[DAY1, 2]] and order["days"] == [[DAY1, 1], [DAY2, 1]]
    assert (refund["sources"], refund["scopes"], refund["first_ms"], refund["last_ms"]) == (["keyword"], ["task"], T0, T0 + 60_000)
    assert body["sessions"] == 2 and (refund["sessions_with_event"], order["sessions_with_event"]) == (1, 2)
    day2 = get(api, "/api/events", project=SHOP, from_ms=T0 + DAY, to_ms=T0 + 2 * DAY)
    assert [(e["event_name"], e["detections"]) for e in day2["events"]] == [(ORDER, 1)] and day2["sessions"] == 1


def test_an_events_matches_come_newest_first_with_their_tasks_text(api):
    body = get(api, "/api/event", event=REFUND, size=2)
    assert body["total"] == 3 and [r["task_id"] for r in body["rows"]] == [T5, T2]
    assert body["rows"][1]["task"]["input"] == f"input of {T2}" and body["rows"][1]["task"]["sentiment_label"] == "negative"
    assert body["rows"][1]["task"]["flag"] == "failure" and body["rows"][0]["user_id"] == CAI
    assert [r["task_id"] for r in get(api, "/api/event", event=REFUND, size=2, page=2)["rows"]] == [T1]
    assert get(api, "/api/event", event=REFUND, page=9) == {"total": 3, "page": 9, "size": 50, "rows": []}
    assert get(api, "/api/event", event=REFUND, project=LAB)["total"] == 1
    assert get(api, "/api/event", event=f"never {TAG}") == {"total": 0, "page": 1, "size": 50, "rows": []}
    missing = api.get("/api/event")
    assert missing.status_code == 400 and "event is required" in missing.json()["error"]


@pytest.mark.parametrize(("params", "expected"), [
    ({"event": REFUND}, [T5, T2, T1]),  # T3's detection was retracted
    ({"event": ORDER}, [T3, T2]),
    ({"event": REFUND, "project": SHOP}, [T2, T1]),
    ({"language": "fr"}, [T4, T3]),
    ({"language": "unknown"}, [T6]),
    ({"sentiment": "negative"}, [T2]),
    ({"sentiment": "none"}, [T4, T3]),  # not scored: French
    ({"sentiment": "neutral", "language": "en"}, [T5]),
    ({"project": LAB}, [T6, T5]),
    ({"project": SHOP, "from_ms": T0 + DAY}, [T4, T3]),
])
def test_tasks_filter_by_language_sentiment_event_and_project(api, params, expected):
    body = get(api, "/api/tasks", version=f"v-{TAG}", **params)
    assert (body["total"], [r["task_id"] for r in body["rows"]]) == (len(expected), expected)


@pytest.mark.parametrize(("params", "expected"), [
    ({"project": LAB}, [W3]), ({"project": SHOP}, [W2, W1]), ({"event": ORDER}, [W2, W1]),
    ({"language": "fr"}, [W2]), ({"event": REFUND, "project": SHOP}, [W1]),
])
def test_sessions_filter_by_project_event_and_language(api, params, expected):
    body = get(api, "/api/sessions", q=TAG, **params)
    assert [r["window_id"] for r in body["rows"]] == expected


def test_users_figures_follow_the_dates_and_project(api):
    rows = {r["user_id"]: r for r in get(api, "/api/users", q=TAG, project=SHOP, sort="cost")["rows"]}
    assert list(rows) == [ANA, BEN]
    assert (rows[ANA]["task_count"], rows[ANA]["cost_usd"], rows[ANA]["sentiment_mean"], rows[ANA]["sentiment_min"]) == (
        2, 0.03, pytest.approx(-0.1), -0.9)
    assert rows[BEN]["sentiment_mean"] is None and rows[BEN]["success_ratio"] is None
    assert [r["user_id"] for r in get(api, "/api/users", q=TAG, to_ms=T0 + DAY)["rows"]] == [ANA]
    user = get(api, "/api/user", id=ANA)["user"]
    assert (user["languages"], user["event_counts"]) == ({"en": 2}, {REFUND: 2, ORDER: 1})
    outside = api.get("/api/user", params={"id": CAI, "project": SHOP})
    assert outside.status_code == 404 and outside.json()["error"] == "no such user in these dates and project"


def test_task_insights_per_day_model_and_language(api):
    body = get(api, "/api/insights/tasks", project=SHOP)
    day1, day2 = body["days"]
    assert (day1["day"], day1["tasks"], day1["cost"], day1["positive"], day1["negative"], day1["not_scored"]) == (
        DAY1, 2, pytest.approx(0.03), 1, 1, 0)
    assert (day1["eval_success"], day1["both_flagged"], day1["agreed"]) == (2, 2, 1)  # T2: the user disagreed
    assert (day2["tasks"], day2["cost"], day2["unpriced"], day2["not_scored"], day2["eval_failure"]) == (
        2, pytest.approx(0.005), 1, 2, 1)
    assert day1["sentiment_avg"] == pytest.approx(-0.1) and day2["sentiment_avg"] is None
    models = [(m["model_name"], m["tasks"], m["cost"], m["unpriced"]) for m in body["models"]]
    assert models == [("gpt-4o", 2, pytest.approx(0.03), 0), ("gpt-4o-mini", 1, pytest.approx(0.005), 0), ("my-model", 1, 0, 1)]
    assert [(r["lang"], r["tasks"]) for r in body["languages"]] == [("en", 2), ("fr", 2)]
    lab = get(api, "/api/insights/tasks", project=LAB)
    assert [(r["lang"], r["tasks"]) for r in lab["languages"]] == [("en", 1), ("unknown", 1)]


def test_users_ranked_power_struggling_cost_and_negative(api):
    body = get(api, "/api/insights/users", project=SHOP)
    assert [r["user_id"] for r in body["power"]] == [ANA, BEN]  # a tie on tasks: by id
    assert [(r["user_id"], r["failure_count"]) for r in body["struggling"]] == [(ANA, 1)]
    assert [(r["user_id"], r["cost_usd"]) for r in body["cost"]] == [(ANA, 0.03), (BEN, 0.005)]
    assert [r["user_id"] for r in body["negative"]] == [ANA]
    assert get(api, "/api/insights/users", project=LAB)["negative"] == []


def test_session_insights_and_endings_take_the_dates_and_project(api):
    shape = get(api, "/api/insights/sessions", project=SHOP)
    assert (shape["sessions"], shape["per_day"], shape["lengths"]) == (2, [[DAY1, 1], [DAY2, 1]], [[2, 2]])
    endings = get(api, "/api/insights/endings", project=SHOP, from_ms=T0 + DAY)["endings"]
    assert [(e["message"], e["sessions_ended"]) for e in endings] == [(f"input of {T4}", 1)]


def test_topics_of_the_latest_run_largest_first(api):
    body = get(api, "/api/insights/topics")
    assert body["run_id"] == f"new-{TAG}"
    assert [(t["name"], t["size"], t["examples"]) for t in body["topics"]] == [
        (f"refunds {TAG}", 3, ["e0", "e1", "e2"]), (f"orders {TAG}", 2, ["e0", "e1", "e2"])]


def _csv(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="phospho-')
    assert "\r" not in response.text and response.text.endswith("\n")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert int(response.headers["x-rows"]) == len(rows) - 1
    return rows[0], rows[1:]


def test_exports_are_whole_lists_as_csv(api):
    header, rows = _csv(api.get("/api/export/tasks", params={"project": SHOP}))
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert list(by_id) == [T4, T3, T2, T1] and by_id[T1]["input"] == TRICKY  # uncut, its comma, quotes and line break kept
    assert json.loads(by_id[T2]["events"]) == [REFUND, ORDER] and by_id[T4]["cost_usd"] == ""
    assert (by_id[T1]["flag"], by_id[T1]["flag_source"], by_id[T3]["flag"], by_id[T3]["flag_source"]) == ("success", "user", "failure", "llm")
    header, rows = _csv(api.get("/api/export/sessions", params={"q": TAG, "sort": "cost", "dir": "asc"}))
    assert [r[0] for r in rows] == [W3, W2, W1]
    header, rows = _csv(api.get("/api/export/users", params={"q": TAG, "sort": "cost"}))
    assert [r[0] for r in rows] == [ANA, BEN, CAI] and header[:3] == ["user_id", "task_count", "session_count"]
    header, rows = _csv(api.get("/api/export/events", params={"event": REFUND}))
    assert [r[1] for r in rows] == [T5, T2, T1] and header[0] == "event_name"
    assert api.get("/api/export/nothing").status_code == 404
    bad = api.get("/api/export/sessions", params={"sort": "nope"})
    assert bad.status_code == 400 and "sort" in bad.json()["error"]


# -- every insights, events and export statement of queries/, run by a request on these rows ---------

SCOPE = {"from_ms": T0, "to_ms": T0 + 2 * DAY, "project": SHOP}
WIDEST_EVENTS = {**SCOPE, "event": ORDER, "user": BEN, "source": "keyword"}  # T3's detection only
WIDEST_TASKS = {**SCOPE, "user": BEN, "session": f"w2-{TAG}", "version": f"v-{TAG}", "model": "gpt-4o-mini", "flag": "none",
                "q": "input of", "language": "fr", "sentiment": "none", "event": ORDER}  # T3 only
WIDEST_SESSIONS = {**SCOPE, "user": ANA, "q": "input", "event": REFUND, "language": "en", "sort": "start"}  # W1 only
WIDEST_USERS = {**SCOPE, "user": BEN, "q": TAG, "sort": "tasks"}  # BEN only

STATEMENT_CASES = [
    (Q.compose(Q.TASK_INSIGHTS, Q.scoped(Q.TASK_FILTERS), Q.SCOPE), "/api/insights/tasks", SCOPE,
     lambda b: [d["tasks"] for d in b["days"]] == [2, 2]),
    (Q.compose(Q.SESSION_SHAPES, Q.scoped(Q.SESSION_FILTERS), Q.SCOPE), "/api/insights/sessions", SCOPE,
     lambda b: b["sessions"] == 2),
    (Q.compose(Q.ENDING_MESSAGES, Q.scoped(Q.SESSION_FILTERS), Q.SCOPE), "/api/insights/endings", SCOPE,
     lambda b: sorted(e["message"] for e in b["endings"]) == [f"input of {T2}", f"input of {T4}"]),
    (Q.compose(Q.USER_RANKINGS, Q.scoped(Q.USER_FILTERS), Q.SCOPE), "/api/insights/users", SCOPE,
     lambda b: [r["user_id"] for r in b["cost"]] == [ANA, BEN]),
    (Q.TOPICS, "/api/insights/topics", {}, lambda b: b["run_id"] == f"new-{TAG}"),
    (Q.compose(Q.EVENTS_SUMMARY, Q.EVENT_FILTERS, Q.EVENT_FILTERS), "/api/events", WIDEST_EVENTS,
     lambda b: [(e["event_name"], e["detections"], e["days"]) for e in b["events"]] == [(ORDER, 1, [[DAY2, 1]])]),
    (Q.compose(Q.EVENT_SESSIONS, Q.scoped(Q.SESSION_FILTERS), Q.SCOPE), "/api/events", WIDEST_EVENTS,
     lambda b: b["sessions"] == 2 and b["events"][0]["sessions_with_event"] == 2),
    (Q.compose(Q.EVENT_MATCHES, Q.EVENT_FILTERS, Q.EVENT_FILTERS), "/api/event", WIDEST_EVENTS,
     lambda b: [(r["task_id"], r["task"]["language"]) for r in b["rows"]] == [(T3, "fr")]),
    (Q.compose(Q.TASKS_EXPORT, Q.TASK_FILTERS, Q.TASK_FILTERS), "/api/export/tasks", WIDEST_TASKS,
     lambda b: [r[0] for r in b] == [T3]),
    (Q.compose(Q.SESSIONS_EXPORT, Q.SESSION_FILTERS, Q.SESSION_FILTERS, Q.SESSION_ORDERS, "start"), "/api/export/sessions",
     WIDEST_SESSIONS, lambda b: [r[0] for r in b] == [W1]),
    (Q.compose(Q.USERS_EXPORT, Q.USER_FILTERS, Q.USER_FILTERS, Q.USER_ORDERS, "tasks"), "/api/export/users", WIDEST_USERS,
     lambda b: [r[0] for r in b] == [BEN]),
    (Q.compose(Q.EVENTS_EXPORT, Q.EVENT_FILTERS, Q.EVENT_FILTERS), "/api/export/events", WIDEST_EVENTS,
     lambda b: [(r[0], r[1]) for r in b] == [(ORDER, T3)]),
]


def test_the_cases_cover_every_analysis_and_export_statement():
    assert sorted(sql for sql, *_ in STATEMENT_CASES) == sorted(Q.ANALYSIS_STATEMENTS)


@pytest.mark.parametrize(("sql", "path", "params", "check"), STATEMENT_CASES,
                         ids=[f"{i:02d}-{case[1].removeprefix('/api/')}" for i, case in enumerate(STATEMENT_CASES)])
def test_every_statement_runs_on_known_rows(api, sql, path, params, check):
    before = len(EXECUTED)
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    assert sql in EXECUTED[before:], "the request did not run the statement"
    body = _csv(response)[1] if path.startswith("/api/export/") else response.json()
    assert check(body), body
