"""The dashboard's SQL, statically: every statement reads only, values are placeholders, and a
request can only pick among the module's fragments; the page's files fetch nothing from
elsewhere."""

from __future__ import annotations

import re

import pytest

from phospho_sinks import TUNING_SETTINGS, check_read_only
from phospho_stream.read import INSIGHTS
from phospho_stream.read.dashboard import queries as Q
from phospho_stream.read.dashboard.params import BadRequest, filters, paging, sort_key
from phospho_stream.read.dashboard.server import STATIC_DIR


def test_every_statement_reads_only_and_binds_its_values():
    for sql in Q.ALL_STATEMENTS:
        check_read_only(sql)
        assert set(Q.tuning(sql) or {}) <= TUNING_SETTINGS
        assert "/*where*/" not in sql and "/*order*/" not in sql
        for name, kind in re.findall(r"\{(\w+):([^}]+)\}", sql):
            assert kind in {"String", "Int64", "UInt32", "UInt64"}, (name, kind)
        assert "%s" not in sql and "{}" not in sql


def test_every_insight_passes_the_locked_path():
    for title, sql in INSIGHTS:
        assert check_read_only(sql) is not None, title


def test_the_reads_by_key_run_with_the_by_key_setting():
    assert Q.tuning(Q.TASK) == Q.tuning(Q.SESSION_TASKS) == Q.BY_KEY
    assert Q.tuning(Q.FACETS) is None and "SETTINGS" not in Q.TASK


def test_compose_only_takes_this_modules_fragments():
    sql = Q.compose(Q.TASKS_PAGE, Q.TASK_FILTERS, ["user", "q"])
    assert Q.TASK_FILTERS["user"] in sql and Q.TASK_FILTERS["q"] in sql and "/*where*/" not in sql
    assert "WHERE 1" in Q.compose(Q.TASKS_PAGE, Q.TASK_FILTERS, [])
    with pytest.raises(KeyError):
        Q.compose(Q.TASKS_PAGE, Q.TASK_FILTERS, ["1=1; DROP TABLE x"])
    with pytest.raises(KeyError):
        Q.compose(Q.USERS_PAGE, Q.USER_FILTERS, [], Q.USER_ORDERS, "task_count; DROP TABLE x")


def test_request_values_become_bound_parameters_only():
    args = {"user": " ann' -- ", "from_ms": "1700000000000", "q": "", "unknown": "x"}
    active, params = filters(args, Q.TASK_FILTERS)
    assert sorted(active) == ["from_ms", "user"] and params == {"user": "ann' --", "from_ms": 1_700_000_000_000}
    assert paging({"page": "3", "size": "20"}) == (3, 20, {"limit": 20, "offset": 40})
    assert sort_key({"sort": "tokens", "dir": "asc"}, Q.USER_ORDERS, "tasks") == ("tokens", False)
    for bad in ({"sort": "task_count"}, {"dir": "up"}):
        with pytest.raises(BadRequest):
            sort_key(bad, Q.USER_ORDERS, "tasks")


def test_the_page_loads_nothing_from_elsewhere():
    files = sorted(STATIC_DIR.iterdir())
    assert {f.name for f in files} >= {"index.html", "app.js", "style.css", "charts.js"}
    for f in files:
        text = f.read_text()
        urls = set(re.findall(r"(?:https?:)?//[\w.-]+\.\w+[^\s\"'`)]*", text)) - {"http://www.w3.org/2000/svg"}
        assert not urls, (f.name, urls)
        assert "innerHTML" not in text and "eval(" not in text, f.name
