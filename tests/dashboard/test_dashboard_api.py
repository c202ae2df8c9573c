"""The dashboard's JSON API over HTTP, on the test session's chDB store: every endpoint and
query on known rows (each test keeps to its own users, version and session ids: the store is
shared), filters bound as values, malformed requests refused."""

from __future__ import annotations

import json
import random
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from phospho_sinks import migrate

from store_rows import feedback, span, task, window

T0 = 1_700_000_000_000
TAG = uuid.uuid4().hex[:8]
ANN, BOB, VERSION = f"ann-{TAG}", f"bob-{TAG}", f"dash-{TAG}"
CHAT, BOB_SESSION = f"chat-{TAG}", f"session_{TAG}"
WIN_A, WIN_B = f"s:{CHAT}|a1-{TAG}", f"u:{BOB}|b1-{TAG}"
A1, A2, A3, B1 = (f"{name}-{TAG}" for name in ("a1", "a2", "a3", "b1"))
SQL_INPUT = "x'; DROP TABLE phospho.task_rows --"


def _task(task_id, user, session, win, at, **extra):
    return task(task_id, user, session, win, at, extra.pop("tokens", 10), 1, version_id=VERSION, **extra)


@pytest.fixture(scope="module")
def base(chdb_store):
    from phospho_stream.dashboard import build_server, store_reader

    migrate(chdb_store)
    chdb_store.insert_json_rows("phospho.task_rows", [
        _task(A1, ANN, CHAT, WIN_A, T0, input="Hello there", output="Hi! How can I help?", span_count=3, llm_call_count=1,
              span_models=["gpt-4o-mini"], span_input_tokens=12, span_output_tokens=3,
              feedback_flag="success", feedback_notes=f"note fa1-{TAG}"),
        _task(A2, ANN, CHAT, WIN_A, T0 + 60_000, input="What's the REFUND policy?", output="30 days.", tokens=20,
              feedback_flag="failure", feedback_notes=f"note fa2-{TAG}"),
        _task(A3, ANN, CHAT, WIN_A, T0 + 120_000, input=SQL_INPUT, output="no", model="claude-3"),
        _task(B1, BOB, BOB_SESSION, WIN_B, T0 + 3_600_000, input="bye", output=None, model=None, span_models=["gpt-4o"]),
    ])
    # as the workers write them: the feedback rows, and their flags carried by task rows and windows
    chdb_store.insert_json_rows("phospho.feedback_rows", [
        {**feedback(f"fa1-{TAG}", A1, "success", T0 + 5), "session_id": CHAT, "user_id": ANN},
        {**feedback(f"fa2-{TAG}", A2, "failure", T0 + 60_005), "session_id": CHAT, "user_id": ANN}])
    chdb_store.insert_json_rows("phospho.session_windows", [
        {**window(WIN_A, CHAT, ANN, T0, T0 + 120_000, 3, SQL_INPUT, 1), "success_count": 1, "failure_count": 1,
         "total_tokens": 40},
        {**window(WIN_B, BOB_SESSION, BOB, T0 + 3_600_000, T0 + 3_600_000, 1, "bye", 1), "total_tokens": 10}])
    steps = [("plan", -3000, 0, None), ("retrieve", -2000, 1, None), ("llm", -1000, 2, "gpt-4o-mini")]
    rows = [{**span(1, False, CHAT), "event_id": f"sp-{name}-{TAG}", "task_id": A1, "name": name, "user_id": ANN,
             "step_index": index, "start_time_ms": T0 + start, "end_time_ms": T0 + start + 400, "response_model": model,
             "request_model": model} for name, start, index, model in steps]
    random.Random(3).shuffle(rows)  # written out of order: shown in order
    chdb_store.insert_json_rows("phospho.span_rows", rows)
    server = build_server(store_reader(chdb_store))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def get(base, path, **params):
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), dict(exc.headers)


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
    assert chdb_store.query("SELECT count() FROM phospho.task_rows WHERE task_id = {t:String}", {"t": A3}).rows == [(1,)]


def test_a_task_with_its_steps_in_order(base):
    status, body, _ = get(base, "/api/task", id=A1)
    t = body["task"]
    assert (t["input"], t["output"], t["user_id"], t["session_window_id"], t["feedback_flag"]) == (
        "Hello there", "Hi! How can I help?", ANN, WIN_A, "success")
    assert t["metadata"] == {"channel": "web"} and t["created_ms"] == T0 and t["total_tokens"] == 10
    assert [s["name"] for s in body["spans"]] == ["plan", "retrieve", "llm"]
    assert [s["duration_ms"] for s in body["spans"]] == [400, 400, 400]
    assert body["spans"][2]["response_model"] == "gpt-4o-mini" and body["spans"][2]["input_tokens"] == 12
    assert get(base, "/api/task", id="no-such-task")[:2] == (404, {"error": "no such task"})
    assert get(base, "/api/task")[0] == 400


def test_a_session_with_its_transcript_and_steps(base):
    status, body, _ = get(base, "/api/session", id=WIN_A)
    assert (body["session"]["task_count"], body["session"]["duration_s"], body["truncated"]) == (3, 120, False)
    assert (body["session"]["success_count"], body["session"]["failure_count"]) == (1, 1)
    assert [t["task_id"] for t in body["tasks"]] == [A1, A2, A3]
    assert [s["name"] for s in body["tasks"][0]["spans"]] == ["plan", "retrieve", "llm"]
    assert body["tasks"][1]["spans"] == [] and body["tasks"][2]["input"] == SQL_INPUT
    assert get(base, "/api/session", id="s:nope|x")[0] == 404


def test_sessions_filtered_and_sorted(base):
    def windows(**params):
        status, body, _ = get(base, "/api/sessions", **params)
        assert status == 200, body
        return body["total"], [r["window_id"] for r in body["rows"]]

    assert windows(user=ANN) == (1, [WIN_A])
    _, body, _ = get(base, "/api/sessions", user=BOB)
    assert body["rows"][0]["first_input"] == "input of t1" and body["rows"][0]["last_input"] == "bye"
    assert get(base, "/api/sessions", user=ANN, sort="tasks", dir="asc")[1]["rows"][0]["task_count"] == 3
    assert get(base, "/api/sessions", sort="nope")[0] == 400


def test_users_sortable_by_every_metric_and_one_opened(base):
    from phospho_stream.dashboard.queries import USER_ORDERS

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
    with urllib.request.urlopen(base + "/", timeout=10) as response:
        page = response.read().decode()
        csp = response.headers["Content-Security-Policy"]
    assert '<script type="module" src="/static/app.js">' in page and "default-src 'self'" in csp
    with urllib.request.urlopen(base + "/static/app.js", timeout=10) as response:
        assert "javascript" in response.headers["Content-Type"]
    for path in ("/static/../api.py", "/static/%2e%2e/api.py", "/static/", "/etc/passwd", "/api/../server.py"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(base + path, timeout=10)
        assert err.value.code == 404, path
