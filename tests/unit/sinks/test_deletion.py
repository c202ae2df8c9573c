"""Deleting a user from a chDB store (shared with other tests: ids of this module only): every
table loses that user's rows, partial rows and shared windows included, others keep theirs; the
dry run's counts are what the deletion removes; tombstone and audit rows are written, never the
content; a second run removes nothing more. The sink's tombstones drop rows of deleted users,
tasks and windows from row messages, and leave other messages as they are."""

from __future__ import annotations

import uuid

import orjson
import pytest

from phospho_sinks import json_lines, migrate, read_only_query
from phospho_sinks.deletion import (
    USER_TABLES,
    DeletionRequest,
    audit_of,
    count_user_rows,
    delete_user,
)
from phospho_sinks.deletion_filter import Tombstones

from tests.support.store_rows import S, event, feedback, span, task, window, write


@pytest.fixture()
def ids():
    tag = uuid.uuid4().hex[:8]
    return {name: f"{tag}-{name}" for name in ("gone", "kept", "t1", "t2", "t3", "w1", "w2", "w3", "s1", "s2", "f1",
                                               "f2")}


def _fill(store, ids):
    i = ids
    write(store, "tasks", [
        task(i["t1"], i["gone"], "chat-a", i["w1"], 0, 10),
        task(i["t2"], i["gone"], "chat-shared", i["w2"], 60 * S, 5),
        task(i["t3"], i["kept"], "chat-shared", i["w2"], 120 * S, 5),
        {"task_id": i["t1"], "language": "en", "events": '["refund"]'},  # a stage's partial row: no user_id
        {"task_id": i["t1"], "feedback_flag": "failure", "feedback_notes": "I am Ana, call me"},
    ])
    write(store, "spans", [span(i["t1"], "chat-a", i["s1"]), span(i["t3"], "chat-shared", i["s2"]),
                           {"event_id": i["s1"], "session_id": "chat-a", "user_id": i["gone"]}])
    write(store, "feedback", [feedback(i["f1"], i["t1"], "failure", 10, "chat-a", i["gone"]),
                              feedback(i["f2"], i["t3"], "success", 10, "chat-shared", i["kept"])])
    write(store, "events", [event(i["t1"], "refund", 1, "chat-a", i["gone"]), event(i["t3"], "refund", 1,
                                                                                    "chat-shared", i["kept"])])
    write(store, "evaluations", [{"task_id": t, "flag": "failure", "reason": "r", "model": "m", "prompt_version": "p",
                                  "cost_usd": None, "session_id": "x", "user_id": u, "created_at_ms": 0,
                                  "evaluated_at_ms": 0, "version": 1}
                                 for t, u in ((i["t1"], i["gone"]), (i["t3"], i["kept"]))])
    write(store, "sessions", [window(f"s:chat-a|{i['t1']}", "chat-a", None, 0, 0, 0, "", 2, deleted=1),  # retracted
                              window(i["w1"], "chat-a", i["gone"], 0, 0, 1, "input of t1", 1),
                              window(i["w2"], "chat-shared", i["kept"], 60 * S, 120 * S, 2, "input of t3", 1),
                              window(i["w3"], "chat-b", i["kept"], 0, 0, 1, "x", 1)])
    write(store, "task_topics", [{"run_id": "r", "task_id": t, "topic_id": 1, "created_at_ms": 0}
                                 for t in (i["t1"], i["t3"])])


def _left(store, ids, user):
    """Rows in the store tables (every part, FINAL or not) that mention the user or their tasks."""
    mine = [ids["t1"], ids["t2"]]
    out = {}
    for table in USER_TABLES:
        columns = {name for (name,) in store.query("SELECT name FROM system.columns WHERE database = "
                                                   "'phospho_store' AND table = {t:String}", {"t": table}).rows}
        checks = ["task_id IN (SELECT arrayJoin(JSONExtract({ids:String}, 'Array(String)')))"] if "task_id" in columns else []
        checks += ["user_id = {u:String}"] if "user_id" in columns else []
        checks += ["window_id IN (SELECT arrayJoin(JSONExtract({w:String}, 'Array(String)'))) OR "
                   "arrayElement(splitByChar('|', window_id), -1) IN (SELECT arrayJoin(JSONExtract({ids:String}, "
                   "'Array(String)')))"] if table == "sessions" else []
        out[table] = store.query(f"SELECT count() FROM phospho_store.{table} WHERE {' OR '.join(checks)}",
                                 {"ids": orjson.dumps(mine).decode(), "u": user,
                                  "w": orjson.dumps([ids["w1"], ids["w2"]]).decode()}).rows[0][0]
    return out


def test_a_users_rows_go_from_every_table_and_others_stay(chdb_store, ids):
    migrate(chdb_store)
    _fill(chdb_store, ids)
    expected = {"tasks": 2, "spans": 1, "feedback": 1, "events": 1, "evaluations": 1, "sessions": 2, "task_topics": 1}
    dry = count_user_rows(lambda sql, params: read_only_query(chdb_store, sql, params), ids["gone"])
    assert dry == expected
    request = DeletionRequest(ids["gone"], requested_by="dpo")
    assert delete_user(chdb_store, request) == expected
    assert _left(chdb_store, ids, ids["gone"]) == dict.fromkeys(USER_TABLES, 0)
    kept = chdb_store.query("SELECT count() FROM phospho.tasks WHERE user_id = {u:String}", {"u": ids["kept"]})
    assert kept.rows == [(1,)]  # the other user of the shared session keeps their task ...
    windows = chdb_store.query("SELECT window_id FROM phospho.sessions WHERE window_id LIKE {p:String} ORDER BY 1",
                               {"p": ids["w1"][:8] + "%"}).rows
    assert windows == [(ids["w3"],)]  # ... but not the window they shared with the deleted user
    audit = audit_of(chdb_store.query, request.request_id)
    assert audit["user_id"] == ids["gone"] and audit["requested_by"] == "dpo"
    assert audit["counts"] == expected and audit["rows_removed"] == sum(expected.values())
    tombstone = chdb_store.query("SELECT task_ids, window_ids FROM phospho_store.deleted_users WHERE user_id = "
                                 "{u:String}", {"u": ids["gone"]}).rows
    assert sorted(tombstone[0][0]) == sorted([ids["t1"], ids["t2"]]) and sorted(tombstone[0][1]) == sorted(
        [ids["w1"], ids["w2"]])
    assert delete_user(chdb_store, DeletionRequest(ids["gone"])) == dict.fromkeys(USER_TABLES, 0)


def test_tombstones_leave_out_rows_of_deleted_users_tasks_and_windows_only(chdb_store, ids):
    tombstones = Tombstones()
    clean = json_lines([task(ids["t3"], ids["kept"], "c", ids["w3"], 0, 1)])
    assert tombstones.keep(clean) is clean  # no deletion: nothing searched
    tombstones.add(ids["gone"], [ids["t1"]], [ids["w1"]])
    assert tombstones.keep(clean) is clean
    mixed = json_lines([task(ids["t1"], ids["gone"], "c", ids["w1"], 0, 1), {"task_id": ids["t1"], "language": "en"},
                        {"task_id": ids["t3"], "window_id": ids["w1"]}, task(ids["t3"], ids["kept"], "c", ids["w3"], 0, 1),
                        window(ids["w1"], "c", ids["kept"], 0, 0, 1, "x", 1)])
    kept = [orjson.loads(line) for line in tombstones.keep(mixed).split(b"\n")]
    assert kept == [task(ids["t3"], ids["kept"], "c", ids["w3"], 0, 1)]
    assert tombstones.keep(json_lines([{"task_id": ids["t1"], "language": "en"}])) == b""
    retracted = json_lines([{"window_id": f"s:chat|{ids['t1']}", "user_id": None, "is_deleted": 1}])
    assert tombstones.keep(retracted) == b""  # a window its task opened, even retracted (no user in the row)
    similar = json_lines([task(ids["t1"] + "0", ids["gone"] + "x", "c", ids["w1"] + "0", 0, 1)])
    assert tombstones.keep(similar) == similar  # an id that only starts like a deleted one is not deleted


def test_requests_travel_as_json_and_a_bad_one_is_refused():
    request = DeletionRequest("user@example.com", requested_by="dpo", requested_at_ms=5)
    assert DeletionRequest.from_json(request.to_json()) == request
    with pytest.raises(ValueError):
        DeletionRequest.from_json(b'{"user_id": "u"}')
    with pytest.raises(ValueError):
        DeletionRequest("u", request_id="'; DROP TABLE x; --")
