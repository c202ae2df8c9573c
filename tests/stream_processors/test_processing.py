"""The worker's logic without faust: real wire events (encoded by the contract's serializer,
decoded by EventDecoder) through `process`, the rows written to chDB, read back in the views."""

from __future__ import annotations

import uuid

from phospho_schemas import EventDecoder, SingleObjectSerializer, raw_schema
from phospho_sinks import migrate
from phospho_stream.processing import KeyState, Output, current_rows, expire_state, process

MIN = 60_000
T0 = 1_763_700_000_000
DECODER = EventDecoder()


def wire(kind: str, **fields) -> dict:
    """Encode with the contract's serializer and decode as a worker would."""
    record = {"event_id": uuid.uuid4().hex, "project_id": "p", "sent_at": T0, **fields}
    got_kind, decoded = DECODER.decode(SingleObjectSerializer(raw_schema(kind))(_defaults(kind, record)))
    assert got_kind == kind
    return decoded


def _defaults(kind: str, record: dict) -> dict:
    out = {}
    for f in raw_schema(kind)["fields"]:
        out[f["name"]] = record.get(f["name"], f.get("default"))
    return out


def task(task_id, at, session="chat", user="redelivery-user", tokens=10, generated=False):
    return wire("task", task_id=task_id, session_id=session, session_id_generated=generated, user_id=user,
                created_at=T0 + at, client_created_at=T0 + at, input=f"q {task_id}", output=f"a {task_id}",
                total_tokens=tokens, version_id="v")


def span(event_id, task_id, model="gpt-4o-mini", start=0, dur=200):
    return wire("span", event_id=event_id, trace_id="0" * 32, span_id=event_id[-16:].rjust(16, "0"), name="openai.chat",
                task_id=task_id, start_time=T0 + start, end_time=T0 + start + dur, operation="chat", provider="openai",
                response_model=model, input_tokens=12, output_tokens=3)


def feedback(task_id, flag):
    return wire("feedback", task_id=task_id, flag=flag, created_at=T0)


def write(store, out):
    store.insert_json_rows("phospho.task_rows", out.tasks)
    store.insert_json_rows("phospho.span_rows", out.spans)
    store.insert_json_rows("phospho.feedback_rows", out.feedback)
    store.insert_json_rows("phospho.session_windows", out.sessions)


def test_events_to_views(chdb_store):
    migrate(chdb_store)
    tag = uuid.uuid4().hex[:8]
    chat, t, ann = f"chat-{tag}", lambda i: f"{tag}-t{i}", f"{tag}-ann"
    state = KeyState()
    batches = [
        [("span", span(f"{tag}-s1", t(1))), ("task", task(t(1), 0, chat, ann)), ("task", task(t(3), 50 * MIN, chat, ann))],
        [("feedback", feedback(t(1), "failure")), ("task", task(t(2), 25 * MIN, chat, ann)),  # bridges t1 and t3
         ("span", span(f"{tag}-s2", t(1), model="claude", start=100)), ("task", task(t(2), 25 * MIN, chat, ann))],
        [("task", task(t(9), 0, f"session_{tag}", user=f"{tag}-bob", generated=True, tokens=0)),
         ("span", span(f"{tag}-s9", None))],
    ]
    for events in batches:
        write(chdb_store, process(state, events, now_ms=T0))
    write(chdb_store, expire_state(state, now_ms=T0 + 10 * MIN))

    tasks = chdb_store.query(
        "SELECT task_id, session_window_id, span_count, span_models, feedback_flag FROM phospho.tasks "
        "WHERE task_id LIKE {p:String} ORDER BY task_id", {"p": f"{tag}-%"}).rows
    window = f"s:{chat}|{t(1)}"
    assert tasks == [
        (t(1), window, 2, ["claude", "gpt-4o-mini"], "failure"),
        (t(2), window, 0, [], None),
        (t(3), window, 0, [], None),  # was alone in its window until t2 bridged the gap: moved
        (t(9), f"u:{tag}-bob|{t(9)}", 0, [], None),
    ]
    sessions = chdb_store.query(
        "SELECT window_id, task_count, duration_s, first_input, last_input, failure_count, user_id FROM phospho.sessions "
        "WHERE session_key IN ({a:String}, {b:String}) ORDER BY window_id", {"a": f"s:{chat}", "b": f"u:{tag}-bob"}).rows
    assert sessions == [
        (window, 3, 50 * 60, f"q {t(1)}", f"q {t(3)}", 1, ann),
        (f"u:{tag}-bob|{t(9)}", 1, 0, f"q {t(9)}", f"q {t(9)}", 0, f"{tag}-bob"),
    ]
    spans = chdb_store.query("SELECT span_event_id, orphan, session_id FROM phospho.spans WHERE span_event_id LIKE {p:String} "
                             "ORDER BY span_event_id", {"p": f"{tag}-%"}).rows
    assert spans == [(f"{tag}-s1", False, chat), (f"{tag}-s2", False, chat), (f"{tag}-s9", True, None)]
    users = chdb_store.query("SELECT task_count, session_count FROM phospho.users WHERE user_id = {u:String}",
                             {"u": f"{tag}-bob"}).rows
    assert users == [(1, 1)]


def test_redelivered_batch_writes_nothing_new():
    state = KeyState()
    events = [("task", task("r1", 0)), ("span", span("rs1", "r1")), ("feedback", feedback("r1", "success"))]
    first = process(state, events, now_ms=T0)
    assert first.tasks and first.sessions
    again = process(state, events, now_ms=T0)
    assert (again.tasks, again.spans, again.feedback, again.sessions) == ([], [], [], [])


def test_state_forgets_closed_history_and_stays_bounded():
    from phospho_stream.processing import evict

    state, day = KeyState(), 24 * 60 * MIN
    for d in range(5):  # one task a day on one chat: five windows
        process(state, [("task", task(f"e{d}", d * day, "long-chat"))], now_ms=T0 + d * day, retention_ms=day)
    # only the windows ending within a day of the newest task are kept
    assert len(state.windows["s:long-chat"].windows) == 2 and set(state.joins) == {"e3", "e4"}
    assert state.windows["s:long-chat"].version >= 5  # the key's version counter survives
    # a late task for a forgotten window opens a new one; a fresh one joins its window as usual
    out = process(state, [("task", task("late", 0, "long-chat"))], now_ms=T0 + 5 * day, retention_ms=day)
    assert out.sessions and out.sessions[0]["window_id"] == "s:long-chat|late"
    assert "late" not in state.joins  # and forgotten at once by process(): its window ended long ago
    assert evict(state, T0 + 5 * day, day) == 0  # nothing left to forget


def test_a_session_counts_the_tokens_of_steps_when_the_task_logged_none():
    state = KeyState()
    early = process(state, [("span", span("s-before", "t1")), ("task", task("t1", 0, tokens=None))], now_ms=0)
    assert early.sessions[-1]["total_tokens"] == 15  # 12 + 3 of the span that came first
    late = process(state, [("span", span("s-after", "t1"))], now_ms=0)
    assert late.sessions[-1]["total_tokens"] == 30 and late.tasks[-1]["span_input_tokens"] == 24
    logged = process(state, [("task", task("t2", MIN, tokens=100)), ("span", span("s-t2", "t2"))], now_ms=0)
    assert logged.sessions[-1]["total_tokens"] == 130  # t2 logged its own total: its step adds nothing


def newest(rows: list[dict], id_field: str) -> dict[str, dict]:
    """What storage keeps: per id, the row of the highest version (the later one on a tie),
    without its version."""
    kept: dict[str, dict] = {}
    for row in sorted(rows, key=lambda r: r["version"]):
        kept[row[id_field]] = row
    return {k: {c: v for c, v in r.items() if c != "version"} for k, r in kept.items()}


def test_current_rows_are_what_storage_keeps_for_the_key():
    """What a worker sends again after recovering a key equals what all its rows so far left
    in storage (the same rows, perhaps at a higher version)."""
    state, sent = KeyState(), Output()
    batches = [
        [("span", span("c-s1", "c1")), ("task", task("c1", 0)), ("task", task("c3", 50 * MIN))],
        [("feedback", feedback("c1", "failure")), ("span", span("c-s2", "c1", model="claude", start=100))],
        [("span", span("c-s-orphan", "c-never"))],
    ]
    for i, events in enumerate(batches):
        sent.merge(process(state, events, now_ms=T0 + i * MIN))
    sent.merge(expire_state(state, now_ms=T0 + 8 * MIN))  # c-never's span is past its grace
    # c2 merges c1's and c3's windows; c-later's span waits within its grace
    bridge = process(state, [("task", task("c2", 25 * MIN)), ("span", span("c-s-waits", "c-later"))], now_ms=T0 + 8 * MIN)
    sent.merge(bridge)
    again = current_rows(state)
    assert newest(again.tasks, "task_id") == newest(sent.tasks, "task_id")
    assert set(newest(again.tasks, "task_id")) == {"c1", "c2", "c3"}
    assert newest(again.spans, "event_id") == newest(sent.spans, "event_id")
    assert set(newest(again.spans, "event_id")) == {"c-s1", "c-s2", "c-s-orphan"}  # not the span still in its grace
    assert newest(again.feedback, "event_id") == newest(sent.feedback, "event_id")
    assert newest(again.sessions, "window_id") == newest(sent.sessions, "window_id")
    tombstones = [r for r in again.sessions if r["is_deleted"]]
    assert [r["window_id"] for r in tombstones] == ["s:chat|c3"] and tombstones == [r for r in bridge.sessions if r["is_deleted"]]
    # the next batch's tombstones replace them: the last ones went out before it came
    process(state, [("task", task("c4", 30 * MIN))], now_ms=T0 + 9 * MIN)
    assert not [r for r in current_rows(state).sessions if r["is_deleted"]]


def test_newest_sends_one_row_per_stored_id_the_one_storage_keeps():
    """A batch writes a window once per task it got (and a task again when its window
    changes); storage keeps each id's highest version. `Output.newest` sends just those."""
    state = KeyState()
    events = [("task", task(f"n{i}", i * MIN)) for i in range(5)] + [
        ("task", task("n-far", 40 * MIN)), ("task", task("n-bridge", 20 * MIN)),  # a window of its own, then bridged
        ("span", span("n-s1", "n0")), ("feedback", feedback("n1", "success"))]
    out = process(state, events, now_ms=T0)
    latest = out.newest()
    assert len(latest.sessions) < len(out.sessions) and len(latest.tasks) < len(out.tasks)
    assert (latest.spans, latest.feedback) == (out.spans, out.feedback)
    for rows, kept, id_field in ((out.tasks, latest.tasks, "task_id"), (out.sessions, latest.sessions, "window_id")):
        assert len({r[id_field] for r in kept}) == len(kept)  # one per id
        by_id = {r[id_field]: r for r in kept}
        assert {k: {c: v for c, v in r.items() if c != "version"} for k, r in by_id.items()} == newest(rows, id_field)
        assert all(by_id[r[id_field]]["version"] == max(x["version"] for x in rows if x[id_field] == r[id_field]) for r in rows)
    assert any(r["is_deleted"] for r in latest.sessions)  # the bridged window's tombstone is the newest of its id
    again = Output(out.tasks[:1], [], [], out.sessions[:1])
    assert again.newest().tasks is again.tasks  # nothing to drop: the same lists
