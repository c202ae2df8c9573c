"""The dashboard's browsing API over HTTP (the read app served by uvicorn from a thread), on the
test session's chDB store: every endpoint and query on known rows (each test keeps to its own
users, version and session ids: the store is shared), every browsing statement of queries/ run
by some request (the server's reads are recorded), filters bound as values, malformed requests
refused. The insights, events and exports: test_dashboard_analysis_api.py."""

from __future__ import annotations

import json
import random
import uuid

import httpx
import pytest

from phospho_sinks import migrate
from phospho_stream.read import serve, store_reader
from phospho_stream.read.dashboard import queries as Q

from tests.support.store_rows import event, feedback, span, task, window, write

T0 = 1_700_000_000_000
TAG = uuid.uuid4().hex[:8]
ANN, BOB, VERSION = f"ann-{TAG}", f"bob-{TAG}", f"dash-{TAG}"
CHAT, BOB_SESSION = f"chat-{TAG}", f"session_{TAG}"
WIN_A, WIN_B = f"s:{CHAT}|a1-{TAG}", f"u:{BOB}|b1-{TAG}"
A1, A2, A3, B1, MOVED = (f"{name}-{TAG}" for name in ("a1", "a2", "a3", "b1", "moved"))
SQL_INPUT = f"x-{TAG}'; DROP TABLE phospho_store.tasks --"
HELLO, BYE = f"Hello there ({TAG})", f"bye {TAG}"
GREETING, REFUND = f"greeting {TAG}", f"refund {TAG}"
OTHER_PROJECT, RUN = f"other-{TAG}", f"run-{TAG}"
EXECUTED: list[str] = []  # every statement the module's server ran, in order


def _analysis(task_id, language, score, label, events, cost):
    """The analytics stage's partial row of a task."""
    return {"task_id": task_id, "language": language, "sentiment_score": score,
            "sentiment_magnitude": None if score is None else abs(score), "sentiment_label": label,
            "sentiment_method": "vader" if language in ("en", "") else "unsupported_language",
            "events": json.dumps(events), "cost_usd": cost, "cost_note": "genai-prices" if cost else "unknown model",
            "analytics_version": "r1-test", "analyzed_at_ms": T0 + 1}


def _task(task_id, user, session, win, at, **extra):
    for name in ("span_models",):
        if name in extra:
            extra[name] = json.dumps(extra[name])
    return task(task_id, user, session, win, at, extra.pop("tokens", 10), version_id=VERSION, **extra)


@pytest.fixture(scope="module")
def base(chdb_store):
    migrate(chdb_store)
    write(chdb_store, "tasks", [
        _task(A1, ANN, CHAT, WIN_A, T0, input=HELLO, output="Hi! How can I help?", span_count=3, llm_call_count=1,
              span_models=["gpt-4o-mini"], span_input_tokens=12, span_output_tokens=3,
              feedback_flag="success", feedback_notes=f"note fa1-{TAG}"),
        _task(A2, ANN, CHAT, WIN_A, T0 + 60_000, input="What's the REFUND policy?", output="30 days.", tokens=20,
              feedback_flag="failure", feedback_notes=f"note fa2-{TAG}"),
        _task(A3, ANN, CHAT, WIN_A, T0 + 120_000, input=SQL_INPUT, output="no", model="claude-3"),
        _task(B1, BOB, BOB_SESSION, WIN_B, T0 + 3_600_000, input=BYE, output=None, model=None, span_models=["gpt-4o"],
              project_id=OTHER_PROJECT),
    ])
    # the analytics stage's partial rows, apart (storage merges them into the tasks' rows)
    write(chdb_store, "tasks", [
        _analysis(A1, "en", 0.8, "positive", [GREETING], 0.002),
        _analysis(A2, "en", -0.6, "negative", [REFUND], 0.004),
        _analysis(A3, "", None, None, [], None),
        _analysis(B1, "fr", None, None, [], 0.001),
    ])
    write(chdb_store, "events", [event(A1, GREETING, 1, CHAT, ANN, at_ms=T0),
                                 event(A2, REFUND, 1, CHAT, ANN, at_ms=T0 + 60_000),
                                 event(A3, REFUND, 2, CHAT, ANN, deleted=1, at_ms=T0 + 120_000)])  # retracted
    write(chdb_store, "topics", [{"run_id": RUN, "topic_id": 1, "name": f"greetings {TAG}", "size": 1,
                                  "examples": json.dumps([HELLO]), "terms": '["hello"]', "method": "tfidf-kmeans",
                                  "created_at_ms": T0}])
    write(chdb_store, "task_topics", [{"run_id": RUN, "task_id": A1, "topic_id": 1, "created_at_ms": T0}])
    # as the workers write them: the feedback rows, and their flags carried by task rows and windows
    write(chdb_store, "feedback", [
        {**feedback(f"fa1-{TAG}", A1, "success", T0 + 5), "session_id": CHAT, "user_id": ANN},
        {**feedback(f"fa2-{TAG}", A2, "failure", T0 + 60_005), "session_id": CHAT, "user_id": ANN}])
    write(chdb_store, "sessions", [
        {**window(WIN_A, CHAT, ANN, T0, T0 + 120_000, 3, SQL_INPUT, 1), "first_input": HELLO, "success_count": 1,
         "failure_count": 1, "total_tokens": 40, "languages": {"en": 2, "": 1}, "sentiment_sum": 0.2, "sentiment_count": 2,
         "sentiment_min": -0.6, "event_counts": {GREETING: 1, REFUND: 1}, "cost_usd": 0.006, "analyzed_count": 3},
        {**window(WIN_B, BOB_SESSION, BOB, T0 + 3_600_000, T0 + 3_600_000, 1, BYE, 1), "first_input": BYE, "total_tokens": 10,
         "languages": {"fr": 1}, "cost_usd": 0.001, "analyzed_count": 1}])
    steps = [("plan", -3000, 0, None), ("retrieve", -2000, 1, None), ("llm", -1000, 2, "gpt-4o-mini")]
    rows = [{**span(A1, CHAT), "event_id": f"sp-{name}-{TAG}", "task_id": A1, "name": name, "user_id": ANN,
             "step_index": index, "start_time_ms": T0 + start, "end_time_ms": T0 + start + 400, "response_model": model,
             "request_model": model} for name, start, index, model in steps]
    random.Random(3).shuffle(rows)  # written out of order: shown in order
    write(chdb_store, "spans", rows)
    # a task first in WIN_A, then moved to a window of its own (as the session rules write it)
    moved = task(MOVED, None, f"other-{TAG}", WIN_A, T0 + 30_000, 1, version_id=f"moved-{TAG}")
    write(chdb_store, "tasks", [moved, {"task_id": MOVED, "window_id": f"s:other-{TAG}|{MOVED}"}])
    read = store_reader(chdb_store)

    def recorded(sql, params=None, tuning=None):  # the store's reader, each statement noted as it runs
        EXECUTED.append(sql)
        return read(sql, params, tuning)

    server = serve(recorded)
    with httpx.Client(base_url=server.url.rstrip("/"), headers={"Authorization": f"Bearer {server.token}"},
                      trust_env=False, timeout=30) as client:
        yield client
    server.stop()


def get(base, path, **params):
    response = base.get(path, params=params)
    return response.status_code, response.json(), response.headers


def task_ids(base, **params):
    status, body, _ = get(base, "/api/tasks", version=VERSION, **params)
    assert status == 200, body
    return body["total"], [r["task_id"] for r in body["rows"]]


def test_tasks_newest_first_and_paginated_with_the_total(base):
    assert task_ids(base) == (4, [B1, A3, A2, A1])
    status, body, headers = get(base, "/api/tasks", version=VERSION, size=3, page=2)
    assert (body["total"], body["page"], body["size"], [r["task_id"] for r in body["rows"]]) == (4, 2, 3, [A1])
    assert body["rows"][0]["feedback_flag"] == "success" and body["rows"][0]["span_count"] == 3
    assert headers["Cache-Control"] == "no-store" and headers["Server-Timing"].startswith("db;dur=")
    assert task_ids(base, page=9) == (4, [])  # past the end: the total still says how many match


@pytest.mark.parametrize(("params", "expected"), [
    ({"user": BOB}, [B1]),
    ({"session": CHAT}, [A3, A2, A1]),
    ({"session": WIN_B}, [B1]),  # a session window id works too
    ({"model": "claude-3"}, [A3]),
    ({"model": "gpt-4o"}, [B1]),  # a model seen only in the task's steps
    ({"flag": "failure"}, [A2]),
    ({"flag": "none"}, [B1, A3]),
    ({"q": "refund"}, [A2]),  # case-insensitive, in the input
    ({"q": "how can i"}, [A1]),  # in the output
    ({"from_ms": T0 + 60_000, "to_ms": T0 + 120_001}, [A3, A2]),
    ({"user": ANN, "flag": "success", "q": "hello"}, [A1]),
])
def test_each_filter_narrows_the_rows(base, params, expected):
    assert task_ids(base, **params) == (len(expected), expected)


@pytest.mark.parametrize("value", [SQL_INPUT, "' OR 1=1 --", "{user:String}", "\\' OR ''='", "x\") OR (1=1"])
def test_a_filter_value_containing_sql_stays_a_value(base, chdb_store, value):
    for name in ("user", "session", "version", "model", "flag"):
        status, body, _ = get(base, "/api/tasks", **{name: value})
        assert status == 200 and body["total"] == 0, (name, body)
    total, ids = task_ids(base, q=value)
    assert (total, ids) == ((1, [A3]) if value == SQL_INPUT else (0, []))  # found as the text it is
    assert get(base, "/api/users", q=value)[1]["total"] == 0
    assert get(base, "/api/sessions", user=value)[1]["total"] == 0
    assert get(base, "/api/task", id=value)[0] == 404
    assert chdb_store.query("SELECT count() FROM phospho.tasks WHERE task_id = {t:String}", {"t": A3}).rows == [(1,)]


def test_a_task_with_its_steps_in_order(base):
    status, body, _ = get(base, "/api/task", id=A1)
    t = body["task"]
    assert (t["input"], t["output"], t["user_id"], t["session_window_id"], t["feedback_flag"]) == (
        HELLO, "Hi! How can I help?", ANN, WIN_A, "success")
    assert t["metadata"] == {"channel": "web"} and t["created_ms"] == T0 and t["total_tokens"] == 10
    assert [s["name"] for s in body["spans"]] == ["plan", "retrieve", "llm"]
    assert [s["duration_ms"] for s in body["spans"]] == [400, 400, 400]
    assert body["spans"][2]["response_model"] == "gpt-4o-mini" and body["spans"][2]["input_tokens"] == 12
    assert [s["orphan"] for s in body["spans"]] == [False, False, False]  # each span's latest version
    assert get(base, "/api/task", id="no-such-task")[:2] == (404, {"error": "no such task"})
    assert get(base, "/api/task")[0] == 400


def test_a_task_rewritten_shows_its_latest_row(base):
    """MOVED's older row (in WIN_A) was written after its latest one (in a window of its own)."""
    status, body, _ = get(base, "/api/tasks", version=f"moved-{TAG}")
    assert [(r["task_id"], r["session_window_id"], r["user_id"]) for r in body["rows"]] == [(MOVED, f"s:other-{TAG}|{MOVED}", None)]
    status, body, _ = get(base, "/api/task", id=MOVED)
    assert (body["task"]["session_id"], body["task"]["session_window_id"]) == (f"other-{TAG}", f"s:other-{TAG}|{MOVED}")


def test_a_session_with_its_transcript_and_steps(base):
    status, body, _ = get(base, "/api/session", id=WIN_A)
    assert (body["session"]["task_count"], body["session"]["duration_s"], body["truncated"]) == (3, 120, False)
    assert (body["session"]["success_count"], body["session"]["failure_count"]) == (1, 1)
    assert [t["task_id"] for t in body["tasks"]] == [A1, A2, A3]  # not MOVED: it left the window
    assert [(s["name"], s["orphan"], s["response_model"]) for s in body["tasks"][0]["spans"]] == [
        ("plan", False, None), ("retrieve", False, None), ("llm", False, "gpt-4o-mini")]
    assert body["tasks"][1]["spans"] == [] and body["tasks"][2]["input"] == SQL_INPUT
    assert get(base, "/api/session", id="s:nope|x")[0] == 404


def test_sessions_filtered_and_sorted(base):
    def windows(**params):
        status, body, _ = get(base, "/api/sessions", **params)
        assert status == 200, body
        return body["total"], [r["window_id"] for r in body["rows"]]

    assert windows(user=ANN) == (1, [WIN_A])
    _, body, _ = get(base, "/api/sessions", user=BOB)
    assert body["rows"][0]["first_input"] == BYE and body["rows"][0]["last_input"] == BYE
    assert get(base, "/api/sessions", user=ANN, sort="tasks", dir="asc")[1]["rows"][0]["task_count"] == 3
    assert get(base, "/api/sessions", sort="nope")[0] == 400


@pytest.mark.parametrize(("params", "expected"), [
    ({"user": ANN}, [WIN_A]),
    ({"q": TAG}, [WIN_B, WIN_A]),  # newest first
    ({"q": f"HELLO THERE ({TAG}"}, [WIN_A]),  # case-insensitive, in the first input
    ({"q": f"x-{TAG}'; drop"}, [WIN_A]),  # in the last input only
    ({"q": BYE.upper()}, [WIN_B]),
    ({"q": TAG, "from_ms": T0 + 1}, [WIN_B]),
    ({"q": TAG, "from_ms": T0 + 3_600_000}, [WIN_B]),  # from: inclusive
    ({"q": TAG, "to_ms": T0 + 3_600_000}, [WIN_A]),  # to: exclusive
    ({"q": TAG, "from_ms": T0, "to_ms": T0 + 1}, [WIN_A]),
    ({"q": TAG, "from_ms": T0 + 1, "to_ms": T0 + 3_600_000}, []),
    ({"user": BOB, "q": "bye", "from_ms": T0 + 3_600_000, "to_ms": T0 + 3_600_001}, [WIN_B]),
    ({"user": ANN, "q": "bye"}, []),
])
def test_each_session_filter_narrows_the_rows(base, params, expected):
    status, body, _ = get(base, "/api/sessions", **params)
    assert status == 200, body
    assert (body["total"], [r["window_id"] for r in body["rows"]]) == (len(expected), expected)


@pytest.mark.parametrize(("path", "params", "total"), [
    ("/api/tasks", {"version": VERSION, "page": 3, "size": 2}, 4),
    ("/api/tasks", {"version": VERSION, "flag": "failure", "page": 2, "size": 1}, 1),
    ("/api/sessions", {"q": TAG, "page": 2}, 2),
    ("/api/sessions", {"q": TAG, "from_ms": T0 + 1, "page": 4, "size": 1}, 1),
    ("/api/users", {"q": TAG, "page": 2}, 2),
    ("/api/users", {"q": BOB, "page": 3, "size": 1}, 1),
    ("/api/users", {"q": f"nobody-{TAG}", "page": 2}, 0),
])
def test_a_page_past_the_end_is_empty_and_still_counts_the_matches(base, path, params, total):
    status, body, _ = get(base, path, **params)
    assert status == 200, body
    assert (body["total"], body["page"], body["rows"]) == (total, params["page"], [])


def test_users_sortable_by_every_metric_and_one_opened(base):
    from phospho_stream.read.dashboard.queries import USER_ORDERS

    for key in USER_ORDERS:
        for direction in ("asc", "desc"):
            status, body, _ = get(base, "/api/users", q=TAG, sort=key, dir=direction)
            assert status == 200 and body["total"] == 2, (key, body)
    _, body, _ = get(base, "/api/users", q=TAG, sort="tasks", dir="desc")
    assert [u["user_id"] for u in body["rows"]] == [ANN, BOB]
    status, body, _ = get(base, "/api/user", id=ANN)
    u = body["user"]
    assert (u["task_count"], u["session_count"], u["success_count"], u["failure_count"], u["success_ratio"]) == (3, 1, 1, 1, 0.5)
    assert (u["first_seen_ms"], u["last_seen_ms"], u["total_tokens"]) == (T0, T0 + 120_000, 40)
    assert get(base, "/api/user", id=f"nobody-{TAG}")[0] == 404


def test_facets_list_the_versions_and_models(base):
    _, body, _ = get(base, "/api/facets")
    assert VERSION in body["versions"] and {"claude-3", "gpt-4o-mini"} <= set(body["models"])


def test_insights_agree_with_the_views(base, chdb_store):
    one = lambda sql: chdb_store.query(sql).rows[0]  # noqa: E731
    tasks = get(base, "/api/insights/tasks")[1]
    days = tasks["days"]
    assert sum(d["tasks"] for d in days) == one("SELECT count() FROM phospho.tasks")[0]
    assert sum(d["failure"] for d in days) == one("SELECT countIf(feedback_flag = 'failure') FROM phospho.tasks")[0]
    shape = get(base, "/api/insights/sessions")[1]
    sessions, avg_tasks = one("SELECT count(), avg(task_count) FROM phospho.sessions")
    assert shape["sessions"] == sessions and shape["avg_tasks"] == pytest.approx(avg_tasks)
    assert sum(n for _, n in shape["lengths"]) == sum(n for _, n in shape["per_day"]) == sum(b[2] for b in shape["duration_buckets"]) == sessions
    assert all(lo <= hi for lo, hi, _ in shape["duration_buckets"])
    assert shape["dead_letters"] == one("SELECT count() FROM phospho.dead_letters")[0]
    endings = get(base, "/api/insights/endings")[1]["endings"]
    top = chdb_store.query("SELECT count() FROM phospho.sessions GROUP BY last_input ORDER BY count() DESC LIMIT 1").rows[0][0]
    assert endings[0]["sessions_ended"] == top and len(endings) <= 10
    models = {m["model_name"]: m for m in tasks["models"]}
    assert sum(m["tasks"] for m in models.values()) == sum(d["tasks"] for d in days)
    assert models["claude-3"]["tasks"] >= 1 and models["gpt-4o"]["tasks"] >= 1  # B1: its steps' model


@pytest.mark.parametrize(("path", "params", "message"), [
    ("/api/tasks", {"page": "0"}, "page"), ("/api/tasks", {"size": "1000"}, "size"),
    ("/api/tasks", {"from_ms": "yesterday"}, "from_ms"), ("/api/users", {"dir": "sideways"}, "dir"),
    ("/api/tasks", {"q": "x" * 2000}, "q"),
])
def test_malformed_requests_are_refused(base, path, params, message):
    status, body, _ = get(base, path, **params)
    assert status == 400 and message in body["error"]


def test_the_page_and_only_its_own_files_are_served(base):
    response = base.get("/")
    assert '<script type="module" src="/static/app.js">' in response.text
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "javascript" in base.get("/static/app.js").headers["Content-Type"]
    for path in ("/static/../api.py", "/static/%2e%2e/api.py", "/static/", "/etc/passwd", "/api/../server.py",
                 "/static/%2e%2e/%2e%2e/queries.py"):
        assert base.get(path).status_code == 404, path


# -- every browsing statement of queries/, run by a request on known rows ------------------------

WIDEST_TASKS = {"from_ms": T0, "to_ms": T0 + 1, "project": "p", "user": ANN, "session": CHAT, "version": VERSION,
                "model": "gpt-4o-mini", "flag": "success", "q": "hello", "language": "en", "sentiment": "positive",
                "event": GREETING}  # every task filter at once: A1 only
WIDEST_SESSIONS = {"from_ms": T0, "to_ms": T0 + 1, "project": "p", "user": ANN, "q": "hello", "event": GREETING,
                   "language": "en"}  # every session filter: WIN_A only
WIDEST_USERS = {"from_ms": T0, "to_ms": T0 + 3_600_001, "project": "p", "user": ANN, "q": TAG}  # ANN, by WIN_A


def _ids(body, key="task_id", rows="rows"):
    return [r[key] for r in body[rows]]


# (statement, the request that runs it, what that request answers on this module's rows)
STATEMENT_CASES = [
    (Q.compose(Q.TASKS_PAGE, Q.TASK_FILTERS, Q.TASK_FILTERS), "/api/tasks", WIDEST_TASKS,
     lambda b, _: (b["total"], _ids(b)) == (1, [A1])),
    (Q.compose(Q.TASKS_COUNT, Q.TASK_FILTERS, Q.TASK_FILTERS), "/api/tasks", {**WIDEST_TASKS, "page": 2},
     lambda b, _: (b["total"], b["rows"]) == (1, [])),
    (Q.TASK_ROWS, "/api/tasks", {"version": VERSION},
     lambda b, _: _ids(b) == [B1, A3, A2, A1] and [r["input"] for r in b["rows"]] == [BYE, SQL_INPUT, "What's the REFUND policy?", HELLO]
     and [r["feedback_flag"] for r in b["rows"]] == [None, None, "failure", "success"]
     and [(r["language"], r["sentiment_label"], r["events"], r["cost_usd"]) for r in b["rows"]]
     == [("fr", None, [], 0.001), ("", None, [], None), ("en", "negative", [REFUND], 0.004), ("en", "positive", [GREETING], 0.002)]),
    (Q.TASK, "/api/task", {"id": A2},
     lambda b, _: (b["task"]["task_id"], b["task"]["total_tokens"], b["task"]["feedback_notes"], b["task"]["sentiment_score"],
                   b["task"]["analytics_version"], b["task"]["flag"], b["task"]["flag_source"])
     == (A2, 20, f"note fa2-{TAG}", -0.6, "r1-test", "failure", "user")),
    (Q.TASK_SPANS, "/api/task", {"id": A1},
     lambda b, _: [(s["name"], s["step_index"]) for s in b["spans"]] == [("plan", 0), ("retrieve", 1), ("llm", 2)]),
    (Q.TASK_EVENTS, "/api/task", {"id": A2},
     lambda b, _: [(d["event_name"], d["source"], d["score"]) for d in b["detections"]] == [(REFUND, "keyword", 1.0)]),
    (Q.TASK_TOPIC, "/api/task", {"id": A1},
     lambda b, _: (b["topic"]["name"], b["topic"]["run_id"]) == (f"greetings {TAG}", RUN)),
    (Q.SPANS_OF_TASKS, "/api/session", {"id": WIN_A},
     lambda b, _: [[s["name"] for s in t["spans"]] for t in b["tasks"]] == [["plan", "retrieve", "llm"], [], []]),
    (Q.SESSION_TASKS, "/api/session", {"id": WIN_A},
     lambda b, _: _ids(b, rows="tasks") == [A1, A2, A3] and b["tasks"][2]["input"] == SQL_INPUT
     and [t["events"] for t in b["tasks"]] == [[GREETING], [REFUND], []]),
    (Q.compose(Q.SESSIONS_PAGE, Q.SESSION_FILTERS, Q.SESSION_FILTERS, Q.SESSION_ORDERS, "start"), "/api/sessions",
     WIDEST_SESSIONS, lambda b, _: (b["total"], _ids(b, "window_id")) == (1, [WIN_A])),
    (Q.compose(Q.SESSIONS_COUNT, Q.SESSION_FILTERS, Q.SESSION_FILTERS), "/api/sessions", {**WIDEST_SESSIONS, "page": 2},
     lambda b, _: (b["total"], b["rows"]) == (1, [])),
    (Q.SESSION_ROWS, "/api/sessions", {"q": TAG},
     lambda b, _: [(r["window_id"], r["task_count"], r["first_input"], r["last_input"], r["language"]) for r in b["rows"]]
     == [(WIN_B, 1, BYE, BYE, "fr"), (WIN_A, 3, HELLO, SQL_INPUT, "en")]
     and b["rows"][1]["event_counts"] == {GREETING: 1, REFUND: 1} and b["rows"][1]["sentiment_mean"] == pytest.approx(0.1)),
    (Q.SESSION, "/api/session", {"id": WIN_B},
     lambda b, _: (b["session"]["user_id"], b["session"]["task_count"], b["session"]["total_tokens"], _ids(b, rows="tasks"))
     == (BOB, 1, 10, [B1])),
    (Q.compose(Q.USERS_PAGE, Q.USER_FILTERS, Q.USER_FILTERS, Q.USER_ORDERS, "tasks"), "/api/users", WIDEST_USERS,
     lambda b, _: [(r["user_id"], r["task_count"], r["cost_usd"]) for r in b["rows"]] == [(ANN, 3, 0.006)] and b["total"] == 1),
    (Q.compose(Q.USERS_COUNT, Q.USER_FILTERS, Q.USER_FILTERS), "/api/users", {**WIDEST_USERS, "page": 2},
     lambda b, _: (b["total"], b["rows"]) == (1, [])),
    (Q.compose(Q.USER, Q.USER_FILTERS, (*Q.SCOPE, "user")), "/api/user",
     {"id": BOB, "from_ms": T0, "to_ms": T0 + 3_600_001, "project": OTHER_PROJECT},
     lambda b, _: (b["user"]["user_id"], b["user"]["task_count"], b["user"]["session_count"], b["user"]["languages"])
     == (BOB, 1, 1, {"fr": 1})),
    (Q.FACETS, "/api/facets", {},
     lambda b, _: VERSION in b["versions"] and {"claude-3", "gpt-4o-mini"} <= set(b["models"])
     and OTHER_PROJECT in b["projects"] and {"en", "fr", "unknown"} <= set(b["languages"])),
    (Q.EVENT_NAMES, "/api/facets", {}, lambda b, _: {GREETING, REFUND} <= set(b["events"])),
]


def test_the_cases_cover_every_browsing_statement():
    assert sorted(sql for sql, *_ in STATEMENT_CASES) == sorted(Q.BROWSE_STATEMENTS)


@pytest.mark.parametrize(("sql", "path", "params", "check"), STATEMENT_CASES,
                         ids=[f"{i:02d}-{case[1].removeprefix('/api/')}" for i, case in enumerate(STATEMENT_CASES)])
def test_every_statement_runs_on_known_rows(base, chdb_store, sql, path, params, check):
    before = len(EXECUTED)
    status, body, _ = get(base, path, **params)
    assert status == 200, body
    assert sql in EXECUTED[before:], "the request did not run the statement"
    assert check(body, chdb_store), body


@pytest.mark.parametrize(("host", "url"), [
    ("127.0.0.1", "http://127.0.0.1:8080/"), ("localhost", "http://localhost:8080/"), ("0.0.0.0", "http://0.0.0.0:8080/"),
    ("::1", "http://[::1]:8080/"), ("::", "http://[::]:8080/"), ("fe80::1", "http://[fe80::1]:8080/"),
])
def test_a_url_brackets_an_ipv6_host(host, url):
    from phospho_stream.read import http_url

    assert http_url(host, 8080) == url


def test_the_dashboard_on_ipv6_loopback_gives_a_url_that_works(base, chdb_store):
    import socket

    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    server = serve(store_reader(chdb_store), "::1", 0)  # on the rows of `base`
    try:
        assert server.url == f"http://[::1]:{server.port}/"
        response = httpx.get(f"{server.url}api/tasks", params={"version": VERSION}, trust_env=False,
                             headers={"Authorization": f"Bearer {server.token}"}, timeout=30)
        assert response.json()["total"] == 4
    finally:
        server.stop()


def test_a_store_failure_is_a_502_with_clickhouses_message(chdb_store):
    """A statement ClickHouse fails (here every read, on a reader whose store lost its views)
    answers 502 with ClickHouse's message in one line, which the page shows."""

    def broken(sql, params=None, tuning=None):
        return store_reader(chdb_store)(sql.replace("phospho.tasks", "phospho.no_such_view"), params, tuning)

    server = serve(broken)
    try:
        response = httpx.get(f"{server.url}api/tasks", headers={"Authorization": f"Bearer {server.token}"},
                             trust_env=False, timeout=30)
        error = response.json()["error"]
        assert response.status_code == 502 and error.startswith("the store failed: Code: 60. DB::Exception: ")
        assert "no_such_view" in error and "\n" not in error
    finally:
        server.stop()
