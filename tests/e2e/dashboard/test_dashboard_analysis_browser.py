"""The dashboard's analysis and usability in headless Chromium, on the pipeline's data analysed with
the demo's config: the Events page and an event's matches down to their tasks, the tasks' filters
by language, sentiment and event, the dates and project of the scope bar carried by every page, a
step's input and output, CSV downloads, the page at a phone's 390 x 844, and the live toggle
(on a dashboard of its own, over rows this test writes). Screenshots go to test-artifacts/dashboard/."""

from __future__ import annotations

import csv
import time
import uuid

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.support.browser import (
    act,
    desktop,
    downloaded,
    downloads,
    login,
    open_page,
    phone,
    row_ids,
    shot,
    total,
)

pytestmark = pytest.mark.e2e


def _one(pipeline, sql):
    return next(iter(pipeline.query(sql)[0].values()))


def test_the_events_page_counts_each_event_and_leads_to_its_tasks(browser, pipeline):
    expected = {r["event_name"]: r for r in pipeline.query(
        "SELECT event_name, count() AS n, uniqExact(task_id) AS tasks FROM phospho.events GROUP BY event_name")}
    assert {"refund request", "order number", "pii in system prompt"} <= set(expected)
    open_page(browser, pipeline, "#/events")
    assert total(browser) == len(expected)
    rows = browser.find_elements(By.CSS_SELECTOR, "[data-testid=events-table] tbody tr[data-id]")
    shown = {r.get_attribute("data-id"): int(r.find_element(By.CSS_SELECTOR, "td:nth-child(2)").text.replace(",", ""))
             for r in rows}
    assert shown == {name: r["n"] for name, r in expected.items()}
    assert browser.find_elements(By.CSS_SELECTOR, "[data-testid=chart-events-per-day] svg .bar")
    shot(browser, "events")
    act(browser, lambda: browser.find_element(By.CSS_SELECTOR, "tr[data-id='refund request']").click())
    refund = expected["refund request"]
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=event-detections] .value").text == str(refund["n"])
    matches = row_ids(browser, "[data-testid=event-matches]")
    assert len(matches) == min(refund["n"], 50)
    shot(browser, "event")
    act(browser, lambda: browser.find_element(By.CSS_SELECTOR, f"[data-testid=event-matches] tr[data-id='{matches[0]}']").click())
    detections = browser.find_element(By.CSS_SELECTOR, "[data-testid=detections]").text
    assert "refund request" in detections and "keyword" in detections and "task_input_only" in detections
    act(browser, browser.back)
    act(browser, lambda: browser.find_element(By.CSS_SELECTOR, "[data-testid=event-tasks-link]").click())
    assert total(browser) == refund["tasks"]
    assert Select(browser.find_element(By.NAME, "event")).first_selected_option.get_attribute("value") == "refund request"


@pytest.mark.parametrize(("field", "value", "where"), [
    ("language", "fr", "language = 'fr'"),
    ("sentiment", "negative", "sentiment_label = 'negative'"),
    ("sentiment", "none", "sentiment_label IS NULL"),
    ("event", "order number", "has(events, 'order number')"),
])
def test_tasks_filter_by_language_sentiment_and_event(browser, pipeline, field, value, where):
    expected = _one(pipeline, f"SELECT count() FROM phospho.tasks WHERE {where}")
    assert expected > 0
    open_page(browser, pipeline, "#/tasks")
    form = browser.find_element(By.CSS_SELECTOR, "[data-testid=filters]")
    select = form.find_element(By.NAME, field)
    WebDriverWait(browser, 30).until(lambda _: any(o.get_attribute("value") == value for o in select.find_elements(By.TAG_NAME, "option")))
    Select(select).select_by_value(value)
    act(browser, lambda: form.find_element(By.CSS_SELECTOR, "[data-testid=apply]").click())
    assert total(browser) == expected
    if field == "language":
        assert {td.text for td in browser.find_elements(By.CSS_SELECTOR, "main tbody td[data-label=Lang]")} == {value}
        shot(browser, "tasks-by-language")


def test_the_project_and_dates_hold_on_every_page(browser, pipeline):
    other = [t for t in pipeline.manifest["tasks"] if t["project"] == "dashboard-other"]
    open_page(browser, pipeline, "#/tasks")
    project = browser.find_element(By.CSS_SELECTOR, "[data-testid=scope-project]")
    WebDriverWait(browser, 30).until(lambda _: len(project.find_elements(By.TAG_NAME, "option")) == 3)
    act(browser, lambda: Select(project).select_by_value("dashboard-other"))
    assert "project=dashboard-other" in browser.current_url
    assert total(browser) == len(other) == 3 and sorted(row_ids(browser)) == sorted(t["task_id"] for t in other)
    for tab, count in (("sessions", 3), ("users", 1)):
        act(browser, lambda tab=tab: browser.find_element(By.CSS_SELECTOR, f"nav a[data-tab={tab}]").click())
        assert "project=dashboard-other" in browser.current_url and total(browser) == count, tab
    act(browser, lambda: browser.find_element(By.CSS_SELECTOR, "nav a[data-tab=insights]").click())
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=insight-sessions] .value"))
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=insight-sessions] .value").text == "3"
    # a custom range, from the address: every page counts what it holds
    first, last = (_one(pipeline, f"SELECT toUnixTimestamp64Milli({f}(created_at)) FROM phospho.tasks") for f in ("min", "max"))
    start, end = first + (last - first) // 3, first + 2 * (last - first) // 3
    in_range = _one(pipeline, f"""SELECT count() FROM phospho.tasks WHERE created_at >= fromUnixTimestamp64Milli({start}, 'UTC')
        AND created_at < fromUnixTimestamp64Milli({end}, 'UTC')""")
    open_page(browser, pipeline, f"#/tasks?range=custom&from={start}&to={end}")
    assert total(browser) == in_range > 0
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=scope-from]").get_attribute("value") != ""
    sessions = _one(pipeline, f"""SELECT count() FROM phospho.sessions WHERE start_time >= fromUnixTimestamp64Milli({start}, 'UTC')
        AND start_time < fromUnixTimestamp64Milli({end}, 'UTC')""")
    act(browser, lambda: browser.find_element(By.CSS_SELECTOR, "nav a[data-tab=sessions]").click())
    assert total(browser) == sessions and "range=custom" in browser.current_url
    act(browser, lambda: Select(browser.find_element(By.CSS_SELECTOR, "[data-testid=scope-range]")).select_by_value("all"))
    assert "range" not in browser.current_url and total(browser) == _one(pipeline, "SELECT count() FROM phospho.sessions")


def test_a_steps_input_and_output_open_from_the_timeline(browser, pipeline):
    agent = pipeline.manifest["agent"]
    open_page(browser, pipeline, f"#/task?id={agent['task_ids'][0]}")
    plan = browser.find_element(By.CSS_SELECTOR, "[data-testid=step-io][data-name=plan]")
    assert plan.get_attribute("open") is None
    browser.find_element(By.CSS_SELECTOR, "[data-testid=steps] g[data-testid=step][data-name=plan] rect").click()
    assert plan.get_attribute("open") is not None
    assert plan.find_element(By.CSS_SELECTOR, "[data-testid=step-input]").text == "Where is my order 1234?"
    assert plan.find_element(By.CSS_SELECTOR, "[data-testid=step-output]").text == "look the order up"
    lookup = browser.find_element(By.CSS_SELECTOR, "[data-testid=step-io][data-name=lookup_order]")
    browser.find_elements(By.CSS_SELECTOR, "[data-testid=steps] tbody tr")[1].click()  # the table's row opens it too
    assert lookup.find_element(By.CSS_SELECTOR, "[data-testid=step-output]").text == '{"status": "shipped"}'
    shot(browser, "task-step-io")


def _csv_rows(path):
    text = path.read_text(encoding="utf-8")
    assert "\r" not in text
    return list(csv.reader(text.splitlines()))


def test_csv_downloads_of_a_whole_list_and_of_a_charts_numbers(browser, pipeline, tmp_path):
    folder = downloads(browser, tmp_path / "downloads")
    tasks = pipeline.manifest["tasks"]
    open_page(browser, pipeline, "#/tasks?language=fr")
    french = total(browser)
    before = set(folder.iterdir())
    browser.find_element(By.CSS_SELECTOR, "main [data-testid=csv]").click()  # the whole list, not its first page
    rows = _csv_rows(downloaded(folder, before))
    assert rows[0][:3] == ["task_id", "created_at_utc", "project_id"] and len(rows) - 1 == french
    assert {r[rows[0].index("language")] for r in rows[1:]} == {"fr"}
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, "main [data-testid=csv-note]").text == f"{french} rows")
    open_page(browser, pipeline, "#/insights")
    card = WebDriverWait(browser, 30).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=chart-tasks-per-day]"))
    card.find_element(By.CSS_SELECTOR, "[data-testid=numbers-toggle]").click()
    before = set(folder.iterdir())
    card.find_element(By.CSS_SELECTOR, "[data-testid=csv]").click()  # the rows the table shows
    rows = _csv_rows(downloaded(folder, before))
    assert rows[0] == ["Day", "Tasks", "Tokens"] and sum(int(r[1]) for r in rows[1:]) == len(tasks)


PHONE_PAGES = ("tasks", "task", "session", "events", "event", "insights", "users")
# the elements reaching past the screen's right edge, to say which when a page is too wide
WIDER = """return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391)
  .slice(0, 5).map(e => `${e.tagName}.${e.className.baseVal ?? e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""


def test_every_page_fits_a_phones_screen(browser, pipeline):
    agent = pipeline.manifest["agent"]
    fragments = {"tasks": "#/tasks", "task": f"#/task?id={agent['task_ids'][0]}", "events": "#/events",
                 "event": "#/event?name=refund%20request", "insights": "#/insights", "users": "#/users"}
    login(browser, pipeline.url, pipeline.login_url)
    phone(browser)
    try:
        for name in PHONE_PAGES:
            if name == "session":
                act(browser, lambda: browser.find_element(By.CSS_SELECTOR, "[data-testid=session-link]").click())
            else:
                act(browser, lambda name=name: browser.get(pipeline.url + fragments[name]))
            if name == "insights":
                WebDriverWait(browser, 30).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "main .slot > p.muted"))
            width = browser.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]")
            assert width == [390, 390], (name, width, browser.execute_script(WIDER))  # no sideways scrolling
            nav = browser.find_element(By.CSS_SELECTOR, "nav a[data-tab=insights]").rect
            assert nav["x"] + nav["width"] <= 390, name
            shot(browser, f"phone-{name}")
        # a list's rows are cards: each cell with its column's name beside it
        act(browser, lambda: browser.get(pipeline.url + "#/tasks"))
        cell = browser.find_element(By.CSS_SELECTOR, "main tbody tr td[data-label=User]")
        label = browser.execute_script("return getComputedStyle(arguments[0], '::before').content", cell)
        assert label == '"User"' and cell.rect["width"] <= 390
    finally:
        desktop(browser)


# -- live: a dashboard of its own, over the session's chDB store, and rows this test writes ---------

@pytest.fixture(scope="module")
def live_app(chdb_store):
    from phospho_sinks import migrate
    from phospho_stream.read import serve, store_reader

    migrate(chdb_store)
    server = serve(store_reader(chdb_store))
    yield server
    server.stop()


def test_live_redraws_the_page_in_place_with_new_rows(browser, live_app, chdb_store):
    from tests.support.store_rows import task, write

    tag = uuid.uuid4().hex[:8]
    user = f"live-{tag}"
    write(chdb_store, "tasks", [task(f"live-1-{tag}", user, f"chat-{tag}", f"s:chat-{tag}|1", 1_700_000_000_000, 5)])
    login(browser, live_app.url, live_app.login_url)
    act(browser, lambda: browser.get(f"{live_app.url}#/tasks?user={user}"))
    assert total(browser) == 1
    toggle = browser.find_element(By.CSS_SELECTOR, "[data-testid=live-toggle]")
    if not toggle.is_selected():
        toggle.click()
    try:
        rendered = browser.execute_script("return document.body.dataset.rendered")
        write(chdb_store, "tasks", [task(f"live-2-{tag}", user, f"chat-{tag}", f"s:chat-{tag}|1", 1_700_000_060_000, 5)])
        WebDriverWait(browser, 30).until(lambda _: total(browser) == 2)
        assert browser.execute_script("return document.body.dataset.rendered") == rendered  # no navigation: redrawn in place
        assert browser.find_element(By.CSS_SELECTOR, "[data-testid=status]").text.startswith("Live · updated ")
        # a filter being typed is never taken away: the page waits until it is applied
        type_into_live_page(browser, "q", "live")
        write(chdb_store, "tasks", [task(f"live-3-{tag}", user, f"chat-{tag}", f"s:chat-{tag}|1", 1_700_000_120_000, 5)])
        time.sleep(6)
        assert total(browser) == 2 and browser.find_element(By.NAME, "q").get_attribute("value") == "live"
        act(browser, lambda: browser.find_element(By.CSS_SELECTOR, "[data-testid=apply]").click())
        assert total(browser) == 3
        browser.find_element(By.CSS_SELECTOR, "[data-testid=live-toggle]").click()  # off: nothing more is drawn
        refreshed = browser.execute_script("return document.body.dataset.refreshed")
        time.sleep(6)
        assert browser.execute_script("return document.body.dataset.refreshed") == refreshed
    finally:
        browser.execute_script("localStorage.removeItem('phospho.dashboard.live')")


def test_the_evaluation_and_topics_show_once_written(browser, live_app, chdb_store):
    """The evaluation stage's verdicts and topics, as it writes them: charted and listed (the
    pipeline of the other tests has no LLM, so its pages show what to configure instead)."""
    from tests.support.store_rows import task, write

    tag = uuid.uuid4().hex[:8]
    write(chdb_store, "tasks", [task(f"eval-{tag}", f"u-{tag}", f"chat-{tag}", f"s:chat-{tag}|1", 1_700_000_000_000, 5,
                                     eval_flag="failure", eval_reason="the answer ignores the question", eval_model="judge")])
    write(chdb_store, "topics", [{"run_id": f"run-{tag}", "topic_id": 1, "name": f"late deliveries {tag}", "size": 1,
                                  "examples": '["where is my parcel?"]', "terms": '["parcel", "late"]', "method": "tfidf-kmeans",
                                  "created_at_ms": 1_700_000_000_000}])
    login(browser, live_app.url, live_app.login_url)
    act(browser, lambda: browser.get(f"{live_app.url}#/task?id=eval-{tag}"))
    assert "the answer ignores the question" in browser.find_element(By.CSS_SELECTOR, "dl.facts").text
    act(browser, lambda: browser.get(f"{live_app.url}#/insights"))
    WebDriverWait(browser, 30).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "main .slot > p.muted"))
    assert browser.find_elements(By.CSS_SELECTOR, "[data-testid=chart-evaluation] svg .bar.ko")
    latest = [t["name"] for t in live_app_api(live_app, "insights/topics")["topics"]]
    shown = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "[data-testid=topics] tbody td[data-label=Topic]")]
    assert shown == latest and latest


def type_into_live_page(browser, name, text):
    """Type into a field of a page that live redraws: a redraw between finding the field and the
    first key replaces it, so find it again; once focused, the page waits for the typing."""
    for _ in range(5):
        try:
            field = browser.find_element(By.NAME, name)
            field.click()
            field.send_keys(text)
            return
        except StaleElementReferenceException:
            continue
    raise AssertionError(f"the field {name!r} was redrawn under every attempt to type into it")


def live_app_api(server, name):
    import httpx

    return httpx.get(f"{server.url}api/{name}", headers={"Authorization": f"Bearer {server.token}"}, trust_env=False,
                     timeout=30).json()


def test_a_failing_statement_shows_clickhouses_own_message(browser, chdb_store):
    """The store fails a statement (here: a reader whose view is gone): the page says what
    ClickHouse said, in one line."""
    from phospho_stream.read import serve, store_reader

    def broken(sql, params=None, tuning=None):
        return store_reader(chdb_store)(sql.replace("phospho.tasks", "phospho.no_such_view"), params, tuning)

    server = serve(broken)
    try:
        login(browser, server.url, server.login_url)
        act(browser, lambda: browser.get(f"{server.url}#/tasks"))
        error = browser.find_element(By.CSS_SELECTOR, "main .error[role=alert]").text
        assert error.startswith("the store failed: Code: 60. DB::Exception: ") and "no_such_view" in error
    finally:
        server.stop()
        # the failed requests this test caused, taken out of the browser's log (other tests read it)
        logged = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert all(server.url in m and "502" in m for m in logged), logged
