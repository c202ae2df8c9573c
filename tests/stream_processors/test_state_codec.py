"""The state changelog's codec: a recovered KeyState behaves exactly like the one written,
whether records carry their wire bytes (as in the worker) or not."""

from __future__ import annotations

import copy
import pickle

import pytest
from test_processing import DECODER, MIN, feedback, span, task

from phospho_schemas import SingleObjectSerializer, raw_schema
from phospho_stream.joins import TASK_HOT_FIELDS, CompactTask
from phospho_stream.processing import RAW, KeyState, expire_state, process, task_expander
from phospho_stream.state_codec import dump_state, load_state


def with_raw(kind: str, record: dict) -> dict:
    wire = {k: record.get(k) for k in (f["name"] for f in raw_schema(kind)["fields"])}
    raw = SingleObjectSerializer(raw_schema(kind))(wire)
    _, decoded = DECODER.decode(raw)
    return {**decoded, RAW: raw}


def history(raw: bool) -> list[list[tuple[str, dict]]]:
    wrap = with_raw if raw else (lambda kind, r: r)
    return [
        [("span", wrap("span", span("s-early", "t2"))), ("task", wrap("task", task("t1", 0)))],
        [("task", wrap("task", task("t2", 5 * MIN))), ("feedback", wrap("feedback", feedback("t1", "success")))],
        [("task", wrap("task", task("t0", -10 * MIN))), ("span", wrap("span", span("s-late", "t1")))],
        [("task", wrap("task", task("t9", 300 * MIN)))],
        [("span", wrap("span", span("s-orphan", "nope")))],
    ]


def run(batches, restore_between: bool):
    state, outputs = KeyState(), []
    for i, batch in enumerate(batches):
        out = process(state, batch, now_ms=1000 * i)
        outputs.append((out.tasks, out.spans, out.feedback, out.sessions))
        if restore_between:
            state = load_state(dump_state(state))
    outputs.append(expire_state(state, now_ms=10**12).spans)
    return outputs


def test_a_worker_restored_after_every_batch_writes_the_same_rows():
    for raw in (False, True):
        batches = history(raw)
        assert run(copy.deepcopy(batches), restore_between=True) == run(copy.deepcopy(batches), restore_between=False)


def test_compact_tasks_write_the_same_rows_as_decoded_ones():
    """The engine keeps a task as its wire bytes and a few fields between batches; a row written
    later (late span, feedback, a window changing id) decodes it again, to the same row."""
    expand, batches = task_expander(DECODER), history(raw=True)

    def rows(compacting: bool) -> list:
        state, outputs = KeyState(), []
        for i, batch in enumerate(copy.deepcopy(batches)):
            out = process(state, batch, now_ms=1000 * i, expand=expand if compacting else None)
            outputs.append((out.tasks, out.spans, out.feedback, out.sessions))
            if compacting:
                assert all(type(j.task) is CompactTask for j in state.joins.values() if j.task is not None)
        return outputs + [expire_state(state, now_ms=10**12).spans]

    assert rows(compacting=True) == rows(compacting=False)
    # a recovered state is compact too, and its rows are the same
    state = KeyState()
    for i, batch in enumerate(copy.deepcopy(batches[:2])):
        process(state, batch, now_ms=1000 * i, expand=expand)
    restored = load_state(dump_state(state))
    assert type(restored.joins["t1"].task) is CompactTask
    assert set(restored.joins["t1"].task) == {*TASK_HOT_FIELDS, RAW}
    late = [("feedback", with_raw("feedback", feedback("t1", "failure")))]
    assert process(restored, copy.deepcopy(late), 9_000).tasks == process(state, copy.deepcopy(late), 9_000).tasks


def test_wire_bytes_are_stored_instead_of_a_pickle_and_rows_never_carry_them():
    state = KeyState()
    out = process(state, history(raw=True)[0] + history(raw=True)[1], now_ms=0)
    assert all(RAW not in row for rows in (out.tasks, out.spans, out.feedback) for row in rows)
    blob = dump_state(state)
    restored = load_state(blob)
    assert restored.joins["t1"].task[RAW] == state.joins["t1"].task[RAW]
    plain = KeyState()
    process(plain, history(raw=False)[0] + history(raw=False)[1], now_ms=0)
    assert len(blob) < len(dump_state(plain))  # the bytes, not a pickled dict with datetimes


def test_unchanged_joins_are_not_pickled_again():
    state = KeyState()
    process(state, history(raw=False)[0], now_ms=0)
    dump_state(state)
    calls = []
    real = pickle.dumps
    try:
        pickle.dumps = lambda obj, protocol=None: calls.append(obj) or real(obj, protocol=protocol)
        process(state, [("task", task("t3", 2 * MIN))], now_ms=0)
        dump_state(state)
    finally:
        pickle.dumps = real
    joins = [c for c in calls if isinstance(c, tuple) and len(c) == 7]
    assert [j[0] for j in joins] == ["t3"]  # only the new task's join; t1's and t2's bytes are reused
    points = [c for c in calls if isinstance(c, tuple) and len(c) == 8]
    assert [p[0] for p in points] == ["t3"]  # and of the window it joined, only its own point


def test_the_last_batch_tombstones_are_kept_and_format_1_states_still_load():
    state = KeyState()
    process(state, [("task", task("f1", 0)), ("task", task("f3", 50 * MIN))], now_ms=0)
    process(state, [("task", task("f2", 25 * MIN))], now_ms=0)  # merges the two windows
    assert state.tombstones and load_state(dump_state(state)).tombstones == state.tombstones
    # format 1: windows as lists of tuples, joins as tuples around a pickled payload, no tombstones
    windows = [(w.key, w.version, [[tuple(p) for p in win.tasks.values()] for win in w.windows]) for w in state.windows.values()]
    joins = [(j.task_id, j.first_seen_ms, j.orphans_written, j.version, pickle.dumps((j.task, [], []))) for j in state.joins.values()]
    old = load_state(pickle.dumps((1, windows, joins, state.window_of_task, state.max_event_ms)))
    assert old.tombstones == [] and set(old.joins) == {"f1", "f2", "f3"} and old.joins["f2"].task == state.joins["f2"].task
    assert [list(w.tasks) for w in old.windows["s:chat"].windows] == [list(w.tasks) for w in state.windows["s:chat"].windows]
    assert process(old, [("task", task("f4", 30 * MIN))], 0).sessions == process(state, [("task", task("f4", 30 * MIN))], 0).sessions
    with pytest.raises(ValueError, match="unknown state format"):
        load_state(pickle.dumps((99, windows, joins, {}, 0)))


def test_a_window_s_bytes_grow_by_the_tasks_added_at_its_end():
    """The newest window gets a task per batch: its bytes are its old bytes plus the new
    task's pickle, and they equal the window's bytes made from scratch."""
    state = KeyState()
    for i in range(6):
        process(state, [("task", task(f"g{i}", i * MIN))], now_ms=0)
        blob = dump_state(state)
        window = state.windows["s:chat"].windows[-1]
        assert window.encoded == b"".join(pickle.dumps(tuple(p), protocol=5) for p in window.tasks.values())
        assert load_state(blob).windows["s:chat"].windows[-1].tasks == window.tasks
    before = window.encoded
    process(state, [("task", task("g-late", -5 * MIN))], now_ms=0)  # not at the end: made anew
    dump_state(state)
    assert state.windows["s:chat"].windows[-1].encoded != before[: len(state.windows["s:chat"].windows[-1].encoded)]
    assert load_state(dump_state(state)).windows["s:chat"].windows[-1].tasks == state.windows["s:chat"].windows[-1].tasks


def test_format_2_states_still_load_and_are_written_in_the_current_format():
    from phospho_stream.state_codec import FORMAT, _join_blob

    state = KeyState()
    process(state, [("task", task("h1", 0)), ("task", task("h3", 50 * MIN))], now_ms=0)
    process(state, [("task", task("h2", 25 * MIN)), ("feedback", feedback("h1", "failure"))], now_ms=0)
    # format 2: a window's bytes are one pickled list of its points
    windows = [(w.key, w.version, [pickle.dumps([tuple(p) for p in win.tasks.values()], protocol=5) for win in w.windows])
               for w in state.windows.values()]
    joins = [_join_blob(j) for j in state.joins.values()]
    old = load_state(pickle.dumps((2, windows, joins, state.window_of_task, state.max_event_ms, state.tombstones), protocol=5))
    assert [w.tasks for w in old.windows["s:chat"].windows] == [w.tasks for w in state.windows["s:chat"].windows]
    assert old.tombstones == state.tombstones and set(old.joins) == set(state.joins)
    again = dump_state(old)
    assert pickle.loads(again)[0] == FORMAT == 4
    assert load_state(again).windows["s:chat"].windows[-1].tasks == state.windows["s:chat"].windows[-1].tasks
    later = [("task", task("h4", 30 * MIN))]
    assert process(old, later, 0).sessions == process(state, later, 0).sessions


def test_format_3_states_still_load_and_keep_their_window_and_join_bytes():
    from phospho_stream.state_codec import _BLOB, _join_blob, _window_blob

    state = KeyState()
    process(state, [("task", task("k1", 0)), ("task", task("k3", 50 * MIN)), ("span", span("s-k", "k1"))], now_ms=0)
    process(state, [("task", task("k2", 25 * MIN)), ("feedback", feedback("k1", "failure"))], now_ms=0)
    windows = [(w.key, w.version, [_window_blob(win) for win in w.windows]) for w in state.windows.values()]
    joins = [_join_blob(j) for j in state.joins.values()]
    old = load_state(pickle.dumps((3, windows, joins, state.window_of_task, state.max_event_ms, state.tombstones), protocol=5))
    assert old.window_of_task == state.window_of_task and old.tombstones == state.tombstones
    assert [getattr(j, _BLOB)[1] for j in old.joins.values()] == joins  # written again as they were
    assert [w.encoded for w in old.windows["s:chat"].windows] == windows[0][2]
    assert load_state(dump_state(old)).window_of_task == state.window_of_task
    later = [("task", task("k4", 30 * MIN)), ("span", span("s-k2", "k2"))]
    assert process(old, later, 0) == process(state, later, 0)


def window_ids(state: KeyState) -> dict[str, str]:
    return {t: win.window_id(w.key) for w in state.windows.values() for win in w.windows for t in win.tasks}


@pytest.mark.parametrize("seed", range(12))
def test_the_task_to_window_map_is_rebuilt_on_load_as_the_rules_left_it(seed: int):
    """Format 4 does not store `window_of_task`: it is the id of the window each task is in,
    as `_window_rows` records it for every window it writes. Random histories (late tasks that
    merge windows or become a window's first, spans, feedback, redeliveries, two session keys,
    history forgotten) keep that so after every batch, and a state restored after any batch
    writes the same rows as the one that never left memory."""
    import random

    rng = random.Random(seed)
    events: list[tuple[str, dict]] = []
    for i in range(rng.randint(20, 60)):
        at = rng.choice([rng.randint(0, 600), rng.randint(0, 3000)]) * MIN // 10
        session = rng.choice(["chat", "chat", "other"])
        events.append(("task", task(f"r{i}", at, session=session)))
        if rng.random() < 0.3:
            events.append(("span", span(f"rs{i}", f"r{rng.randint(0, i + 3)}", start=at)))
        if rng.random() < 0.2:
            events.append(("feedback", feedback(f"r{rng.randint(0, i + 3)}", rng.choice(["success", "failure"]))))
        if rng.random() < 0.1:
            events.append(rng.choice(events))  # redelivered
    cuts = sorted(rng.sample(range(1, len(events)), rng.randint(1, 8)))
    batches = [events[a:b] for a, b in zip([0, *cuts], [*cuts, len(events)], strict=True)]
    retention = rng.choice([10**12, 100 * MIN])

    kept, restored = KeyState(), KeyState()
    for i, batch in enumerate(batches):
        out = process(kept, copy.deepcopy(batch), now_ms=1000 * i, retention_ms=retention)
        again = process(restored, copy.deepcopy(batch), now_ms=1000 * i, retention_ms=retention)
        assert again == out
        assert kept.window_of_task == window_ids(kept)
        restored = load_state(dump_state(restored))
        assert restored.window_of_task == kept.window_of_task
    assert expire_state(restored, 10**12) == expire_state(kept, 10**12)
