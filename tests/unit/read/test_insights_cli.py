"""`phospho-stream insights` on a store of known analysed rows (a chDB directory of its own, filled
and read in child processes): the events, languages, sentiment and cost sections, each figure
checked against what the rows say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "phospho-stream"
T0 = 1_710_000_000_000  # 2024-03-09 16:00 UTC
DAY = 86_400_000

# a store with three users: ana (English, one refund, gpt-4o), ben (French, an unknown model),
# cai (English, negative); written as the stages write them
SETUP = f"""
import json, sys
from phospho_sinks import connect, migrate
from tests.support.store_rows import event, task, window, write

s = connect(sys.argv[1])
migrate(s)
T0, DAY = {T0}, {DAY}
rows = [("t1", "ana", "w1", T0, "gpt-4o", "en", 0.6, "positive", ["refund request"], 0.03),
        ("t2", "ana", "w1", T0 + 60_000, "gpt-4o", "en", 0.2, "neutral", ["refund request", "order number"], 0.01),
        ("t3", "ben", "w2", T0 + DAY, "my-model", "fr", None, None, ["order number"], None),
        ("t4", "cai", "w3", T0 + DAY, "gpt-4o-mini", "en", -0.8, "negative", [], 0.002)]
write(s, "tasks", [task(t, u, w, f"s:{{w}}|{{t}}", at, 10, model=m) for t, u, w, at, m, *_ in rows])
write(s, "tasks", [{{"task_id": t, "language": lang, "sentiment_score": score, "sentiment_magnitude": None if score is None else abs(score),
                    "sentiment_label": label, "sentiment_method": "vader" if lang == "en" else "unsupported_language",
                    "events": json.dumps(events), "cost_usd": cost, "analytics_version": "r1"}}
                   for t, _, _, _, _, lang, score, label, events, cost in rows])
write(s, "events", [event(t, e, 1, w, u, at_ms=at) for t, u, w, at, *_, events, _ in rows for e in events])
write(s, "sessions", [
    window("s:w1|t1", "w1", "ana", T0, T0 + 60_000, 2, "x", 1, languages={{"en": 2}}, sentiment_sum=0.8, sentiment_count=2,
           sentiment_min=0.2, event_counts={{"refund request": 2, "order number": 1}}, cost_usd=0.04, analyzed_count=2),
    window("s:w2|t3", "w2", "ben", T0 + DAY, T0 + DAY, 1, "y", 1, languages={{"fr": 1}}, event_counts={{"order number": 1}},
           analyzed_count=1),
    window("s:w3|t4", "w3", "cai", T0 + DAY, T0 + DAY, 1, "z", 1, languages={{"en": 1}}, sentiment_sum=-0.8,
           sentiment_count=1, sentiment_min=-0.8, cost_usd=0.002, analyzed_count=1)])
"""


@pytest.fixture(scope="module")
def insights(tmp_path_factory):
    path = tmp_path_factory.mktemp("insights-chdb")
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", SETUP, f"chdb://{path}"], check=True, timeout=120, cwd=root)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOSPHO_")}
    done = subprocess.run([str(CLI), "insights", "--dsn", f"chdb://{path}", "--format", "json"], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    table = subprocess.run([str(CLI), "insights", "--dsn", f"chdb://{path}"], capture_output=True, text=True,
                           timeout=120, env=env)
    return json.loads(done.stdout), table.stdout


def test_the_overview_counts_detections_and_cost(insights):
    overview = insights[0]["Overview"][0]
    assert (overview["tasks"], overview["detections"], overview["total_cost_usd"]) == (4, 4, pytest.approx(0.042))


def test_events_per_event(insights):
    events = insights[0]["Events (detections per event)"]
    assert [(e["event_name"], e["detections"], e["tasks"], e["sessions"], e["users"], e["source"]) for e in events] == [
        ("order number", 2, 2, 2, 2, "keyword"), ("refund request", 2, 2, 1, 1, "keyword")]


def test_languages_with_their_share(insights):
    assert insights[0]["Languages (analysed tasks)"] == [
        {"language": "en", "tasks": 3, "share_pct": 75}, {"language": "fr", "tasks": 1, "share_pct": 25}]


def test_sentiment_labels_and_the_unscored(insights):
    labels = {r["label"]: (r["tasks"], r["mean_score"]) for r in insights[0]["Sentiment (VADER: English tasks only)"]}
    assert labels == {"positive": (1, 0.6), "neutral": (1, 0.2), "negative": (1, -0.8),
                      "not scored: unsupported language": (1, None)}
    assert [r["user_id"] for r in insights[0]["Most negative users (mean sentiment)"]] == ["cai"]


def test_cost_per_model_day_and_user(insights):
    models = insights[0]["Cost per model (USD)"]
    assert [(m["model_name"], m["tasks"], m["usd"], m["without_price"]) for m in models] == [
        ("gpt-4o", 2, 0.04, 0), ("gpt-4o-mini", 1, 0.002, 0), ("my-model", 1, None, 1)]
    days = insights[0]["Cost per day (USD, the last 14 days with tasks)"]
    assert [(d["day"], d["tasks"], d["usd"]) for d in days] == [("2024-03-10", 2, 0.002), ("2024-03-09", 2, 0.04)]
    users = insights[0]["Costliest users (USD)"]
    assert [(u["user_id"], u["usd"], u["task_count"]) for u in users] == [("ana", 0.04, 2), ("cai", 0.002, 1)]


def test_the_table_view_titles_every_section(insights):
    text = insights[1]
    for title in ("Events (detections per event)", "Languages (analysed tasks)", "Sentiment (VADER: English tasks only)",
                  "Cost per model (USD)", "Costliest users (USD)"):
        assert f"== {title} ==" in text
