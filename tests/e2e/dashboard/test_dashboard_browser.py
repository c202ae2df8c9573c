"""The dashboard in headless Chromium, on the pipeline's data (demo workload + an agent
conversation with steps): list pages show the expected counts, a task shows its steps in
order, session and user drill-downs work (a task without a session window links none),
filters narrow the rows, nothing is fetched from elsewhere. The browser opens each app once from
the URL with its token, as a person does. A screenshot of each page goes to
test-artifacts/dashboard/ ($PHOSPHO_TEST_ARTIFACTS)."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.support.browser import act, login, open_page, row_ids, shot, total

pytestmark = pytest.mark.e2e


def test_the_tasks_page_lists_every_task_newest_first_in_pages(browser, pipeline):
    tasks = pipeline.manifest["tasks"]
    open_page(browser, pipeline, "#/tasks")
    assert total(browser) == len(tasks) > 50
    first = row_ids(browser)
    assert len(first) == 50 and first[0] == pipeline.manifest["agent"]["task_ids"][-1]  # the newest task
    shot(browser, "tasks")
    act(browser, lambda: browser.find_element(By.CSS_SELECTOR, "[data-testid=pager-next]").click())
    second = row_ids(browser)
    assert len(second) == len(tasks) - 50 and not set(first) & set(second)
    assert set(first) | set(second) == {t["task_id"] for t in tasks}


def test_filters_narrow_the_rows(browser, pipeline):
    tasks = pipeline.manifest["tasks"]
    user, count = Counter(t["user_id"] for t in tasks if t["user_id"]).most_common(1)[0]
    open_page(browser, pipeline, "#/tasks")
    form = browser.find_element(By.CSS_SELECTOR, "[data-testid=filters]")
    form.find_element(By.NAME, "user").send_keys(user)
    act(browser, lambda: form.find_element(By.CSS_SELECTOR, "[data-testid=apply]").click())
    assert total(browser) == count and len(row_ids(browser)) == min(count, 50)
    assert {a.text for a in browser.find_elements(By.CSS_SELECTOR, "main tbody tr td:nth-child(2) a")} == {user}
    form = browser.find_element(By.CSS_SELECTOR, "[data-testid=filters]")
    Select(form.find_element(By.NAME, "flag")).select_by_value("failure")
    act(browser, lambda: form.find_element(By.CSS_SELECTOR, "[data-testid=apply]").click())
    failures = [t["task_id"] for t in tasks if t["user_id"] == user and t["flag"] == "failure"]
    assert total(browser) == len(failures) and sorted(row_ids(browser)) == sorted(failures)
    shot(browser, "tasks-filtered")
    word = "refund"
    open_page(browser, pipeline, f"#/tasks?q={word.upper()}")
    assert total(browser) == sum(word in (t["input"] or "").lower() for t in tasks) > 0
    assert browser.find_element(By.NAME, "q").get_attribute("value") == word.upper()


def test_opening_a_task_shows_its_steps_in_order_and_links_its_session(browser, pipeline):
    agent = pipeline.manifest["agent"]
    open_page(browser, pipeline, "#/tasks")
    act(browser, lambda: browser.find_element(By.CSS_SELECTOR, f"tr[data-id='{agent['task_ids'][0]}']").click())
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=task-input]").text == "Where is my order 1234?"
    assert "your order ships tomorrow" in browser.find_element(By.CSS_SELECTOR, "[data-testid=task-output]").text
    steps = browser.find_elements(By.CSS_SELECTOR, "[data-testid=steps] [data-testid=step]")
    assert [s.get_attribute("data-name") for s in steps] == agent["steps"] == ["plan", "lookup_order", "openai.chat"]
    table = browser.find_element(By.CSS_SELECTOR, "[data-testid=steps] table").text
    assert "1,500 ms" in table and "gpt-4o-mini" in table and "120" in table
    shot(browser, "task")
    act(browser, lambda: browser.find_element(By.CSS_SELECTOR, "[data-testid=session-link]").click())
    turns = browser.find_elements(By.CSS_SELECTOR, "[data-testid=transcript] [data-testid=turn]")
    assert [t.get_attribute("data-id") for t in turns] == agent["task_ids"]
    assert all(len(t.find_elements(By.CSS_SELECTOR, "[data-testid=step]")) == 3 for t in turns)
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=session-task-count] .value").text == "3"
    shot(browser, "session")


def test_sessions_page_and_a_session_opened(browser, pipeline):
    [views] = pipeline.query("SELECT count() AS n, max(task_count) AS longest FROM phospho.sessions")
    open_page(browser, pipeline, "#/sessions")
    assert total(browser) == views["n"]
    shot(browser, "sessions")
    act(browser, lambda: browser.find_element(By.CSS_SELECTOR, "th[data-sort=tasks]").click())
    first = browser.find_element(By.CSS_SELECTOR, "main tbody tr[data-id]")
    assert int(first.find_element(By.CSS_SELECTOR, "td:nth-child(3)").text) == views["longest"]
    act(browser, first.click)
    turns = browser.find_elements(By.CSS_SELECTOR, "[data-testid=turn]")
    assert len(turns) == views["longest"]
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=session-task-count] .value").text == str(views["longest"])


def test_users_sorted_and_one_opened_with_their_sessions_and_tasks(browser, pipeline):
    per_user = Counter(t["user_id"] for t in pipeline.manifest["tasks"] if t["user_id"])
    open_page(browser, pipeline, "#/users")
    assert total(browser) == len(per_user)
    assert per_user[row_ids(browser)[0]] == max(per_user.values())  # sorted by tasks, most first
    act(browser, lambda: browser.find_element(By.CSS_SELECTOR, "th[data-sort=tasks]").click())  # now fewest first
    fewest = min(per_user.values())
    assert per_user[row_ids(browser)[0]] == fewest
    shot(browser, "users")
    user = "agent-user@example.com"
    act(browser, lambda: browser.find_element(By.CSS_SELECTOR, f"tr[data-id='{user}']").click())
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=user-task-count] .value").text == str(per_user[user])
    assert sorted(row_ids(browser, "[data-testid=user-tasks]")) == sorted(pipeline.manifest["agent"]["task_ids"])
    assert len(row_ids(browser, "[data-testid=user-sessions]")) == 1
    shot(browser, "user")


def test_insights_charts_with_their_numbers(browser, pipeline):
    [views] = pipeline.query("SELECT count() AS sessions FROM phospho.sessions")
    open_page(browser, pipeline, "#/insights")
    for name in ("tasks-per-day", "feedback", "sessions-per-day", "session-lengths", "session-durations", "endings", "models"):
        card = browser.find_element(By.CSS_SELECTOR, f"[data-testid=chart-{name}]")
        assert card.find_elements(By.CSS_SELECTOR, "svg .bar"), name
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=insight-sessions] .value").text == str(views["sessions"])
    card = browser.find_element(By.CSS_SELECTOR, "[data-testid=chart-tasks-per-day]")
    card.find_element(By.CSS_SELECTOR, "[data-testid=numbers-toggle]").click()
    cells = card.find_elements(By.CSS_SELECTOR, ".numbers tbody td:nth-child(2)")
    assert sum(int(c.text.replace(",", "")) for c in cells) == len(pipeline.manifest["tasks"])
    shot(browser, "insights")


def test_the_pages_fetch_only_from_the_dashboard_and_log_no_errors(browser, pipeline):
    for fragment in ("#/tasks", "#/sessions", "#/users", "#/events", "#/insights"):
        open_page(browser, pipeline, fragment)
    origins = browser.execute_script("return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)")
    assert origins and set(origins) == {pipeline.url.rstrip("/")}
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


@pytest.fixture(scope="module")
def windowless(chdb_store):
    """A dashboard in this process on the session's chDB store, with tasks written without a
    session window (as rows from outside the pipeline can be): one with a session id, one with
    none, and one in a window."""
    from phospho_sinks import migrate
    from phospho_stream.read import serve, store_reader

    from tests.support.store_rows import task, window, write

    tag = uuid.uuid4().hex[:8]
    ids = {"session only": f"nowin-{tag}", "nothing": f"bare-{tag}", "window": f"win-{tag}"}
    migrate(chdb_store)
    write(chdb_store, "tasks", [
        task(ids["session only"], f"u-{tag}", f"chat-{tag}", "", 1_700_000_000_000, 5),
        task(ids["nothing"], None, "", "", 1_700_000_001_000, 5, session_key=""),
        task(ids["window"], f"u-{tag}", f"chat-{tag}", f"s:chat-{tag}|w-{tag}", 1_700_000_002_000, 5)])
    write(chdb_store, "sessions", [
        window(f"s:chat-{tag}|w-{tag}", f"chat-{tag}", f"u-{tag}", 1_700_000_002_000, 1_700_000_002_000, 1, "x", 1)])
    server = serve(store_reader(chdb_store))
    yield server, ids, tag
    server.stop()


def session_field(browser):
    """The task page's Session entry: its text and its links."""
    dd = browser.find_element(By.XPATH, "//dl[@class='facts']/dt[text()='Session']/following-sibling::dd[1]")
    return dd.text, [a.get_attribute("href") for a in dd.find_elements(By.TAG_NAME, "a")]


def test_a_task_without_a_session_window_links_no_session(browser, windowless):
    server, ids, tag = windowless
    url = server.url
    login(browser, url, server.login_url)
    act(browser, lambda: browser.get(f"{url}#/task?id={ids['session only']}"))
    assert session_field(browser) == (f"chat-{tag}", [])
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=session-link]")
    act(browser, lambda: browser.get(f"{url}#/task?id={ids['nothing']}"))
    assert session_field(browser) == ("—", [])
    act(browser, lambda: browser.get(f"{url}#/task?id={ids['window']}"))
    text, links = session_field(browser)
    assert text == f"chat-{tag}" and links == [f"{url}#/session?id=s%3Achat-{tag}%7Cw-{tag}"]
    act(browser, lambda: browser.find_element(By.CSS_SELECTOR, "[data-testid=session-link]").click())
    assert [t.get_attribute("data-id") for t in browser.find_elements(By.CSS_SELECTOR, "[data-testid=turn]")] == [ids["window"]]
