"""Retention as TTLs on a chDB store (shared: rows of this module only, and the TTLs removed at
the end): applied as ALTERs only when they differ, removed with the config's retention; a TTL
takes effect at a forced merge: texts cleared after raw_text_days, rows gone after aggregates_days,
counted from each row's last write."""

from __future__ import annotations

import uuid

import pytest

from phospho_sinks import migrate
from phospho_sinks.retention import RAW_TEXT_COLUMNS, RETAINED_TABLES, apply_retention, current_ttls

from tests.support.store_rows import span, task, window, write


@pytest.fixture()
def store(chdb_store):
    migrate(chdb_store)
    yield chdb_store
    apply_retention(chdb_store, None, None)


def test_ttls_change_only_when_the_config_does_and_go_with_it(store):
    applied = apply_retention(store, 30, 365)
    assert len(applied) == len(RETAINED_TABLES)
    assert "MODIFY COLUMN input TTL toDateTime(written_at) + INTERVAL 30 DAY" in applied[0]
    assert current_ttls(store, "tasks").rows == 365
    assert set(current_ttls(store, "tasks").columns.values()) == {30}
    assert current_ttls(store, "events").columns == {}  # no text there: a row TTL only
    assert apply_retention(store, 30, 365) == []  # the same config again: nothing to alter
    changed = apply_retention(store, 30, 400)
    assert all("MODIFY TTL toDateTime(written_at) + INTERVAL 400 DAY" in s and "MODIFY COLUMN" not in s
               for s in changed)
    removed = apply_retention(store, None, None)
    assert all(s.endswith("REMOVE TTL") for s in removed)
    for table in RETAINED_TABLES:
        ttl = current_ttls(store, table)
        assert ttl.rows is None and set(ttl.columns.values()) <= {None}, table


def test_a_ttl_clears_texts_then_rows_at_a_merge(store):
    tag = uuid.uuid4().hex[:8]
    user = f"{tag}-ann"
    old, older = "now64(3) - INTERVAL 32 DAY", "now64(3) - INTERVAL 40 DAY"
    write(store, "tasks", [task(f"{tag}-t-old", user, "c", f"{tag}-w", 0, 1, feedback_notes="call me"),
                           task(f"{tag}-t-older", user, "c", f"{tag}-w", 0, 1),
                           task(f"{tag}-t-new", user, "c", f"{tag}-w", 0, 1)])
    write(store, "spans", [span(f"{tag}-t-old", "c", f"{tag}-s-old")])
    write(store, "sessions", [window(f"{tag}-w", "c", user, 0, 0, 2, "my last words", 1)])
    for table, key, ids, when in (("tasks", "task_id", [f"{tag}-t-old"], old), ("tasks", "task_id", [f"{tag}-t-older"], older),
                                  ("spans", "event_id", [f"{tag}-s-old"], old), ("sessions", "window_id", [f"{tag}-w"], old)):
        store.command(f"ALTER TABLE phospho_store.{table} UPDATE written_at = {when} WHERE {key} IN "
                      "(SELECT arrayJoin(splitByChar(',', {ids:String}))) SETTINGS mutations_sync = 2", {"ids": ",".join(ids)})
    apply_retention(store, 30, 35)
    for table in ("tasks", "spans", "sessions"):
        store.command(f"OPTIMIZE TABLE phospho_store.{table} FINAL")
    tasks = store.query(f"SELECT task_id, {', '.join(RAW_TEXT_COLUMNS['tasks'])} FROM phospho_store.tasks FINAL "
                        "WHERE task_id LIKE {p:String} ORDER BY task_id", {"p": f"{tag}-%"}).rows
    assert [row[0] for row in tasks] == [f"{tag}-t-new", f"{tag}-t-old"]  # t-older: past aggregates_days
    assert all(value is None for value in tasks[1][1:])  # t-old: past raw_text_days, its texts cleared
    assert tasks[0][1] == f"input of {tag}-t-new"
    shown = store.query("SELECT input, total_tokens FROM phospho.tasks WHERE task_id = {t:String}",
                        {"t": f"{tag}-t-old"}).rows
    assert shown == [(None, 1)]  # the task and its figures stay in the view
    spans = store.query("SELECT input_text, output_text, attributes_json FROM phospho_store.spans "
                        "WHERE event_id = {e:String}", {"e": f"{tag}-s-old"}).rows
    assert spans == [(None, None, None)]
    sessions = store.query("SELECT first_input, last_input, task_count FROM phospho.sessions WHERE window_id = "
                           "{w:String}", {"w": f"{tag}-w"}).rows
    assert sessions == [("", "", 2)]
