"""Migrations 3 and 4 on a store migration 2 filled (chDB in a child process: one data path per process):
what was stored stays queryable in the new views, and the old tables are gone."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.integration

SCRIPT = textwrap.dedent("""
    import json, sys
    from phospho_sinks import connect, migrate
    from phospho_sinks.ddl import MIGRATIONS

    store = connect("chdb://" + sys.argv[1])
    assert migrate(store, MIGRATIONS[:2]) == [1, 2]
    store.command('''INSERT INTO phospho.task_rows (task_id, event_id, project_id, session_id, session_id_generated,
        session_key, window_id, user_id, created_at_ms, client_created_at_ms, sent_at_ms, input, output, metadata,
        metadata_json, errors, sdk_version, span_count, llm_call_count, span_models, span_input_tokens,
        span_output_tokens, llm_latency_ms, llm_wall_ms, feedback_flag, version)
        VALUES ('t1', 'e1', 'p', 'chat', false, 's:chat', 's:chat|t1', 'ann', 1000, 1000, 1005, 'hello', 'hi',
        map('channel', 'web'), '{}', ['coerced'], '0.1', 2, 1, ['gpt-4o'], 10, 5, 300, 300, 'success', 3)''')
    store.command('''INSERT INTO phospho.session_windows (window_id, session_key, session_id, user_id, start_ms, end_ms,
        duration_ms, task_count, first_input, last_input, total_tokens, success_count, version, is_deleted)
        VALUES ('s:chat|t1', 's:chat', 'chat', 'ann', 1000, 1000, 0, 1, 'hello', 'hello', 15, 1, 4, 0)''')
    store.command('''INSERT INTO phospho.feedback_rows (event_id, project_id, task_id, session_id, user_id, flag,
        source, created_at_ms, errors, orphan, version) VALUES ('f1', 'p', 't1', 'chat', 'ann', 'success', 'user',
        2000, [], false, 1)''')
    assert migrate(store) == [m.version for m in MIGRATIONS[2:]]
    out = {
        "task": store.query("SELECT task_id, input, metadata, errors, span_models, feedback_flag, session_window_id "
                            "FROM phospho.tasks").rows,
        "session": store.query("SELECT window_id, task_count, success_count FROM phospho.sessions").rows,
        "feedback": store.query("SELECT feedback_id, flag, orphan FROM phospho.feedback").rows,
        "old": store.query("SHOW TABLES FROM phospho").rows,
    }
    print(json.dumps(out))
""")


def test_what_migration_2_stored_is_in_the_new_views(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "chdb")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert out["task"] == [["t1", "hello", {"channel": "web"}, ["coerced"], ["gpt-4o"], "success", "s:chat|t1"]]
    assert out["session"] == [["s:chat|t1", 1, 1]]
    assert out["feedback"] == [["f1", "success", False]]
    assert sorted(t for (t,) in out["old"]) == ["dead_letters", "deletions", "evaluations", "events", "feedback",
                                                 "schema_migrations", "sessions", "spans", "task_topics", "tasks",
                                                 "topics", "users"]
