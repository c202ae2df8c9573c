"""Versions compared in ClickHouse (chDB, in a process of its own so that its store holds only
these tasks): success rates with Wilson intervals, means, and p-values against the oldest
version that match scipy's; event rates by version; the judge's agreement with users."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys

import pytest
from scipy import stats

pytestmark = pytest.mark.integration

_CHILD = """
import json, sys
from phospho_sinks import connect, migrate, read_only_query
from phospho_stream.read.llm_insights import EVALUATION_SQL, EVENT_RATES_SQL, VERSIONS_SQL
from tests.support.store_rows import task, write
store = connect(sys.argv[1])
migrate(store)
write(store, "tasks", [task(**row) for row in json.load(sys.stdin)])
print(json.dumps({name: read_only_query(store, sql).dicts() for name, sql in
                  (("versions", VERSIONS_SQL), ("events", EVENT_RATES_SQL), ("evaluation", EVALUATION_SQL))}))
"""


def _tasks() -> list[dict]:
    rng = random.Random(7)
    rows = []
    for i in range(400):
        version = ("v1", "v2", None)[i % 3]
        good = rng.random() < {"v1": 0.55, "v2": 0.8, None: 0.6}[version]
        rows.append({"task_id": f"t{i}", "user": "u", "session": f"s{i}", "window": f"s{i}|w",
                     "at_ms": 1_700_000_000_000 + i * 1000 + (0 if version == "v1" else 10**9), "tokens": 10,
                     "version_id": version, "eval_flag": None if i % 10 == 0 else ("success" if good else "failure"),
                     "feedback_flag": ("success" if good else "failure") if i % 7 == 0 else None,
                     "sentiment_score": rng.gauss(0.3 if version == "v2" else 0.0, 0.3),
                     "cost_usd": rng.uniform(0.001, 0.002), "llm_call_count": 1,
                     "llm_latency_ms": rng.randint(300, 900),
                     "events": json.dumps(["refund request"] if rng.random() < (0.3 if version == "v1" else 0.1)
                                          else [])})
    return rows


def test_versions_are_compared_against_the_oldest_with_the_right_statistics(tmp_path):
    rows = _tasks()
    done = subprocess.run([sys.executable, "-c", _CHILD, f"chdb://{tmp_path / 'chdb'}"], input=json.dumps(rows),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    versions = {r["version"]: r for r in out["versions"]}
    assert [r["version"] for r in out["versions"]][0] == "v1" and versions["v1"]["is_baseline"] == 1
    assert set(versions) == {"v1", "v2", "(none)"} and versions["v1"]["p_success"] is None

    def flags(version):
        own = [r for r in rows if r["version_id"] == version]
        flagged = [r["feedback_flag"] or r["eval_flag"] for r in own if r["feedback_flag"] or r["eval_flag"]]
        return own, sum(f == "success" for f in flagged), len(flagged)

    base, base_s, base_n = flags("v1")
    own, s, n = flags("v2")
    v2 = versions["v2"]
    assert v2["tasks"] == len(own) and v2["success_rate"] == round(s / n, 3)
    p1, p2 = s / n, base_s / base_n
    z = (p1 - p2) / math.sqrt(p1 * (1 - p1) / n + p2 * (1 - p2) / base_n)  # unpooled
    assert v2["p_success"] == pytest.approx(2 * stats.norm.sf(abs(z)), abs=1e-4)
    centre, half = (p1 + 1.96**2 / (2 * n)) / (1 + 1.96**2 / n), \
        1.96 * math.sqrt(p1 * (1 - p1) / n + 1.96**2 / (4 * n * n)) / (1 + 1.96**2 / n)
    assert (v2["success_low"], v2["success_high"]) == (round(centre - half, 3), round(centre + half, 3))
    welch = stats.ttest_ind([r["sentiment_score"] for r in own], [r["sentiment_score"] for r in base], equal_var=False)
    assert v2["p_sentiment"] == pytest.approx(welch.pvalue, abs=1e-4) and v2["p_sentiment"] < 0.001
    latency = stats.ttest_ind([r["llm_latency_ms"] for r in own], [r["llm_latency_ms"] for r in base], equal_var=False)
    assert v2["p_latency"] == pytest.approx(latency.pvalue, abs=1e-4)
    events = {r["version"]: r for r in out["events"]}
    assert events["v1"]["rate"] == round(events["v1"]["hits"] / events["v1"]["tasks"], 4)
    assert events["v2"]["baseline_rate"] == events["v1"]["rate"] and events["v2"]["p_value"] < 0.05
    (evaluation,) = out["evaluation"]
    assert evaluation["evaluated"] == 360 and evaluation["agreement_with_users"] == 1.0
