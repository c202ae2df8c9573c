"""The figures of benchmarks/pipeline.py: its targets (PASS/FAIL), the console tables and its
BENCHMARKS.md section."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["evaluate", "show", "to_markdown", "TODAY_WORKER"]

START, END = "<!-- pipeline:start -->", "<!-- pipeline:end -->"
#: the worker alone before the core was rebuilt (commit 44c3cf6), same machine, 2026-11-22 01:01 UTC
TODAY_WORKER = 10_962


def _parts(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The parts of the report that ran (in run order), with their results."""
    return [(name, part) for name, part in report.items() if isinstance(part, dict) and "loadavg" in part]


def _get(report: dict[str, Any], *path: str) -> Any:
    node: Any = report
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def ratios(report: dict[str, Any]) -> dict[str, float | None]:
    e2e, with_analytics = _get(report, "e2e", "rate"), _get(report, "e2e_analytics", "rate")
    raw, noop = _get(report, "preloaded", "raw", "rate"), _get(report, "preloaded", "noop", "rate")
    worker, old = _get(report, "preloaded", "worker", "rate"), _get(report, "preloaded", "old_worker", "rate")
    engine = _get(report, "preloaded", "engine", "rate")
    analytics, analytics_engine = _get(report, "preloaded", "analytics", "rate"), _get(report, "preloaded", "analytics_engine", "rate")
    return {"end to end / B": _ratio(e2e, raw), "end to end with analytics / without": _ratio(with_analytics, e2e),
            "worker alone / A": _ratio(worker, noop), "worker alone / E": _ratio(worker, engine),
            "worker alone / B": _ratio(worker, raw), "worker alone / old worker": _ratio(worker, old),
            "end to end / worker alone": _ratio(e2e, worker), "analytics worker / its engine": _ratio(analytics, analytics_engine)}


def evaluate(report: dict[str, Any]) -> list[dict[str, Any]]:
    r = ratios(report)
    worker, old = _get(report, "preloaded", "worker", "rate"), _get(report, "preloaded", "old_worker", "rate")
    sizes = _get(report, "insights", "sizes") or []
    slowest = max((q["median"] or float("inf") for q in sizes[-1]["queries"]), default=None) if sizes else None
    targets = [
        ("end to end (log -> committed chDB rows, 1 worker + sink) >= 10,000 tasks/s", _get(report, "e2e", "rate"), 10_000, "{:,.0f} tasks/s"),
        ("end to end >= 0.5x baseline B", r["end to end / B"], 0.5, "{:.2f}x"),
        ("p95 log -> visible in SQL < 1 s", _get(report, "latency", "p95"), -1.0, "{:.2f} s"),
        ("one analytics worker >= 5,000 tasks/s", _get(report, "preloaded", "analytics", "rate"), 5_000, "{:,.0f} tasks/s"),
        ("end to end with the analytics worker running >= 0.9x without", r["end to end with analytics / without"], 0.9, "{:.2f}x"),
    ]
    if old:
        targets.append(("worker alone not slower than the old worker (same run)", r["worker alone / old worker"], 1.0, "{:.2f}x"))
    else:
        targets.append((f"worker alone not slower than the old worker's {TODAY_WORKER:,} tasks/s (recorded 2026-11-22, not this run)",
                        _ratio(worker, TODAY_WORKER), 1.0, "{:.2f}x"))
    if sizes:
        targets.append((f"slowest insight query < 1 s at {sizes[-1]['tasks']:,} tasks", slowest, -1.0, "{:.2f} s"))
    out = []
    for name, value, bound, fmt in targets:
        ok = None if value is None else (value < -bound if bound < 0 else value >= bound)
        out.append({"target": name, "measured": "n/a" if value is None else fmt.format(value), "ok": ok})
    return out


def _f(value: Any, fmt: str = "{:,.0f}") -> str:
    return "n/a" if value is None else fmt.format(value)


def _runs(part: dict[str, Any]) -> str:
    rates = part.get("rates") or []
    return f" (median of {len(rates)} runs: {' / '.join(f'{r:,.0f}' for r in rates)})" if len(rates) > 1 else ""


def throughput_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(path, tasks/s, seconds, detail) of each throughput figure; with repeated runs, the
    median rate, and the other figures of the run closest to it."""
    rows, args = [], report.get("args") or {}
    e2e, ea, pre = report.get("e2e") or {}, report.get("e2e_analytics") or {}, report.get("preloaded") or {}
    for label, part in (("end to end: log() -> committed chDB rows (core worker + sink)", e2e),
                        (f"end to end, analytics worker running (nice +{args.get('analytics_nice')}, waits while the "
                         f"core is {args.get('analysis_yield_lag') or 0:,} events behind)", ea)):
        if part.get("rate"):
            detail = (f"SDK logged in {part['log_seconds']:.1f} s; the worker's last task row at "
                      f"{_f(part.get('worker_rows_done_s'), '{:.1f} s')}; all sessions at {part['sessions_complete_s']:.1f} s")
            if part.get("analytics_caught_up_s"):
                detail += f"; analytics caught up {part['analytics_caught_up_s']:.1f} s after the first log"
            rows.append((label, _f(part["rate"]), _f(part["seconds"], "{:.1f}"), detail + _runs(part)))
    raw = pre.get("raw") or {}
    if raw.get("rate"):
        rows.append(("B: consume + decode + row + chDB insert (1 process)", _f(raw["rate"]), _f(raw["seconds"], "{:.1f}"),
                     f"decode + rows {raw['decode_row_seconds']:.2f} s, inserts {raw['insert_seconds']:.2f} s; "
                     f"{raw['visible']:,} in phospho.tasks" + _runs(raw)))
    noop = pre.get("noop") or {}
    if noop.get("rate"):
        rows.append(("A: faust do-nothing agent, take_events (tasks/s equivalent)", _f(noop["rate"]), _f(noop["seconds"], "{:.1f}"),
                     f"{noop['msgs_per_s']:,.0f} events/s over {noop['events']:,} events (tasks, spans, feedback); "
                     f"{_f(noop.get('cores'), '{:.2f}')} cores" + _runs(noop)))
    for key, label in (("engine", "E: the core engine without faust (confluent-kafka batches)"),
                       ("worker", "core worker alone: input -> rows.tasks"), ("old_worker", "old worker alone (--old-worker-cmd)"),
                       ("analytics", "analytics worker alone: analysis records -> rows.tasks"),
                       ("analytics_engine", "E: the analytics engine without faust")):
        part = pre.get(key) or {}
        if not part.get("rate"):
            continue
        detail = f"{part['tasks']:,} tasks; {_f(part.get('cores'), '{:.2f}')} cores; "
        if "start_and_join_s" in part:
            detail += f"start + join + 1st batch {part['start_and_join_s']:.1f} s"
        else:
            detail += f"1st batch ({part['first_batch_tasks']:,} tasks) not counted"
        rows.append((label, _f(part["rate"]), _f(part["seconds"], "{:.1f}"), detail + _runs(part)))
    return rows


def cpu_rows(part: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(name, _f(v["cpu_s"], "{:.1f}"), _f(v["cores"], "{:.2f}")) for name, v in (part.get("cpu") or {}).items()]


def insight_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    sizes = _get(report, "insights", "sizes") or []
    if not sizes:
        return [], []
    head = ["query"] + [f"{s['tasks']:,} tasks (s)" for s in sizes]
    rows = []
    for key in ("queries", "task_queries"):
        for i, q in enumerate(sizes[0][key]):
            rows.append([q["title"]] + [_f(s[key][i]["median"], "{:.3f}") if not s[key][i]["error"] else "error"
                                        for s in sizes])
    return head, rows


def limits(report: dict[str, Any]) -> list[str]:
    """What bounds each figure, from this run's own measurements."""
    out = []
    e2e, pre, lat = report.get("e2e") or {}, report.get("preloaded") or {}, report.get("latency") or {}
    if e2e.get("cpu"):
        cores = ", ".join(f"{name} {v['cores']:.2f}" for name, v in e2e["cpu"].items())
        out.append(f"End to end: the worker had produced every task row {_f(e2e.get('worker_rows_done_s'), '{:.1f} s')} after "
                   f"the first log, and SQL counted them all at {e2e['seconds']:.1f} s: the worker is the bound. Cores used "
                   f"meanwhile: {cores} (load average {e2e.get('loadavg_before', 0):.1f} when that run began: other work "
                   "had the rest). The core worker is two processes: faust's loop, and its engine in a child fed in order.")
    worker, engine, noop = pre.get("worker") or {}, pre.get("engine") or {}, pre.get("noop") or {}
    if worker.get("rate") and engine.get("rate") and noop.get("rate"):
        serial = 1 / (1 / engine["rate"] + 1 / noop["rate"])
        out.append(f"Worker alone: {worker['rate']:,.0f} tasks/s on {_f(worker.get('cores'), '{:.2f}')} cores, against its "
                   f"engine without faust (E, {engine['rate']:,.0f}) and faust reading the same events doing nothing (A, "
                   f"{noop['rate']:,.0f}): one after the other they would make 1 / (1/E + 1/A) = {serial:,.0f} tasks/s. In one "
                   "worker they overlap (the engine runs in a child process), but on this machine's two cores they share the "
                   "CPU with the broker and the harness, and faust's per-event cost (A) is the ceiling of one worker.")
    analytics, analytics_engine = pre.get("analytics") or {}, pre.get("analytics_engine") or {}
    if analytics.get("rate"):
        out.append(f"Analytics worker: {analytics['rate']:,.0f} tasks/s on {_f(analytics.get('cores'), '{:.2f}')} cores; its "
                   f"engine without faust: {_f(analytics_engine.get('rate'))} tasks/s. Its input holds many tasks per message, "
                   "so faust costs it little: the analysis rules and the rows they make are its bound.")
    if lat.get("stages"):
        stages = "; ".join(f"{name} {v['p50']:.2f} / {v['p95']:.2f} s" for name, v in lat["stages"].items())
        out.append(f"Latency, median / p95 per stage: {stages}. The embedded broker answers every fetch only at the end "
                   "of its wait (half of it from 250 ms on), data or not: the workers wait 0.1 s "
                   "(PHOSPHO_WORKER_FETCH_WAIT_SECONDS), the sink 50 ms; the worker's batch window adds up to 50 ms, the "
                   "sink's inserts (one per table, at least 0.05 s apart) and the 50 ms polls the rest.")
    raw = pre.get("raw") or {}
    if raw.get("rate"):
        out.append(f"B: decoding and row building took {raw['decode_row_seconds']:.2f} s, the chDB inserts "
                   f"{raw['insert_seconds']:.2f} s: the floor is Python's per-event work more than ClickHouse.")
    return out


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def show(report: dict[str, Any]) -> None:
    console = Console(stderr=False)
    table = Table(title=f"pipeline, N = {report['args']['tasks']:,} tasks")
    for column in ("path", "tasks/s", "seconds", "detail"):
        table.add_column(column, justify="right" if column in ("tasks/s", "seconds") else "left")
    for row in throughput_rows(report):
        table.add_row(*row)
    console.print(table)
    for label, key in (("end to end", "e2e"), ("end to end, analytics running", "e2e_analytics")):
        rows = cpu_rows(report.get(key) or {})
        if rows:
            cpu = Table(title=f"CPU, {label} (first log -> all visible)")
            for column in ("process", "CPU s", "cores"):
                cpu.add_column(column)
            for row in rows:
                cpu.add_row(*row)
            console.print(cpu)
    lat = report.get("latency") or {}
    if lat.get("p95") is not None:
        console.print(f"latency log -> SQL: {lat['visible']:,} of {lat['count']:,} at {lat['achieved_rate']:.0f}/s: "
                      f"p50 {lat['p50']:.2f} s, p95 {lat['p95']:.2f} s, max {lat['max']:.2f} s")
        for name, v in (lat.get("stages") or {}).items():
            console.print(f"  {name}: p50 {v['p50']:.2f} s, p95 {v['p95']:.2f} s")
    head, rows = insight_rows(report)
    if rows:
        ins = Table(title="insight queries, median of 3 (s)")
        for column in head:
            ins.add_column(column)
        for row in rows:
            ins.add_row(*row)
        console.print(ins)
    console.print("ratios: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios(report).items() if v is not None))
    for t in report["targets"]:
        console.print(f"{verdict(t['ok']):4} {t['target']}: {t['measured']}")
    for name, part in _parts(report):
        if part.get("error"):
            console.print(f"[red]error ({name}): {part['error']}[/red]")


def _table(head: list[str], rows: list[list[str]] | list[tuple[str, ...]], right: int = 1) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i < right else "---:" for i in range(len(head))) + "|",
            *("| " + " | ".join(row) + " |" for row in rows)]


def to_markdown(report: dict[str, Any]) -> str:
    m, args = report["machine"], report["args"]
    lat = report.get("latency") or {}
    md = [START, "## Pipeline (`benchmarks/pipeline.py`)", "",
          f"Run {report['date']} on {m['nproc']} CPUs ({m['cpu']}, {m['mem_gb']} GB) shared with other work: load average "
          f"{m['loadavg_at_start'][0]} at start, {report['loadavg_at_end'][0]} at the end; Python {m['python']}. "
          f"Command: `{report['command']}`. Load average before each run: " + "; ".join(
              f"{name} {', '.join(f'{x:.1f}' for x in part['loadavg'])}" for name, part in _parts(report))
          + ".", "",
          f"Throughput, N = {args['tasks']:,} tasks (70 % in app sessions, 25 % with a user only, 5 % anonymous; "
          "multi-sentence texts in 10 languages; feedback on 10 %, 1-3 spans on 3 %), embedded broker (Tansu, 4 partitions):", ""]
    md += _table(["path", "tasks/s", "seconds", "detail"], throughput_rows(report), right=1)
    md += ["", "Ratios: " + ", ".join(f"{k} **{v:.2f}x**" for k, v in ratios(report).items() if v is not None) + ".", ""]
    for label, key in (("end to end", "e2e"), ("end to end with the analytics worker", "e2e_analytics")):
        rows = cpu_rows(report.get(key) or {})
        if rows:
            md += [f"CPU per process, {label} (from /proc, first log -> all tasks visible):", ""]
            md += _table(["process", "CPU s", "cores"], rows) + [""]
    if lat.get("p95") is not None:
        md += [f"Latency log -> visible in SQL: {lat['visible']:,} of {lat['count']:,} tasks at {lat['achieved_rate']:.0f}/s "
               f"for {args['latency_seconds']:g} s, each with a unique marker, `phospho.tasks` polled every {args['poll']} s: "
               f"p50 **{lat['p50']:.2f} s**, p95 **{lat['p95']:.2f} s**, p99 {lat['p99']:.2f} s, max {lat['max']:.2f} s.", ""]
        if lat.get("stages"):
            md += _table(["stage", "p50 (s)", "p95 (s)"], [(name, f"{v['p50']:.2f}", f"{v['p95']:.2f}")
                                                          for name, v in lat["stages"].items()]) + [""]
    head, rows = insight_rows(report)
    if rows:
        md += ["Insight queries (`phospho_stream` insights module, read-only path, median of 3 runs), over generated rows; "
               "the last rows read the tasks view and are not insights:", ""]
        md += _table(head, rows) + [""]
    md += _table(["target", "measured", "result"], [(t["target"], t["measured"], f"**{verdict(t['ok'])}**")
                                                     for t in report["targets"]]) + [""]
    md += ["What limits the figures:", ""] + [f"- {line}" for line in limits(report)] + [""]
    md += ["How it was measured:", ""] + [f"- {line}" for line in method(report)]
    errors = [f"- **{name} failed:** {part['error']}" for name, part in _parts(report) if part.get("error")]
    md += errors + ["", "Raw results: `.bench/pipeline.json` (not committed).", END]
    return "\n".join(md) + "\n"


def method(report: dict[str, Any]) -> list[str]:
    args, e2e, pre = report["args"], report.get("e2e") or {}, report.get("preloaded") or {}
    lines = [
        f"Each throughput figure is the median of {args['repeats']} runs, the runs of different paths alternating (this "
        "machine's speed drifts within minutes); the other figures of a row come from its run closest to the median.",
        "End to end: a fresh broker; `phospho-stream worker` (one process) and the sink (`SinkRunner` in a thread of the "
        "harness, on its chDB store; a write once the topics run dry, at least 0.05 s apart, at most 20,000 rows or 0.2 s); an SDK child logs 20 warm-up tasks and waits until "
        f"SQL shows them (start + group join: {_f(e2e.get('start_and_join_s'), '{:.1f} s')}), then logs N tasks as fast as "
        "one thread can. Rate = N / (first log -> `SELECT count() FROM phospho.tasks` = N + 20), polled every 50 ms once "
        "the core's raw task rows are all in. `PHOSPHO_WORKER_PRODUCER_BATCH_BYTES=1`, as `up` sets it on this broker.",
        f"With analytics: the same, plus `phospho-stream worker --stage analytics` with benchmarks/analytics.py's config "
        f"(language, sentiment, 10 keyword and 10 regex events) started with nice +{args['analytics_nice']} and "
        f"`PHOSPHO_ANALYSIS_YIELD_LAG={args.get('analysis_yield_lag', 0)}`, as `up` runs it: the core keeps the CPU while "
        "both have work (the analytics waits while the core has that many events not committed), the analytics catches "
        "up after.",
        "B, A, the workers alone: N tasks logged and flushed first, then each reads them from the beginning as a new consumer "
        "group. B (`_pipeline_raw.py`): confluent-kafka with partitions assigned, `EventDecoder.decode`, the core's "
        "`task_row`, orjson, `insert_json` into phospho_store.tasks every 10,000 rows; rate from its first message to its "
        "last insert. A (`_pipeline_noop.py`): `build_app` and the agent's `take_events(4000, within=0.05)` over the four "
        "input topics, counting; its events/s times N / events is its tasks/s equivalent, from its first batch. E "
        "(`_pipeline_engine.py`): the stage's engine fed by confluent-kafka in the worker's batches, on a byte copy of the "
        "input under another prefix (it writes points and analysis records of its own); from the end of its first batch. "
        "A worker: from its first rows.tasks message to the one completing N distinct task ids, by Kafka timestamps, the "
        "tasks of the first batch's messages (stamped within 100 ms of the first) not counted. Cores: CPU seconds of the "
        "process (and its children) from /proc over that time.",
        "The analytics worker alone reads the analysis records the core worker alone wrote, as a new group; its rate "
        "counts the distinct task ids of its partial task rows (those with `analytics_version`).",
        f"Latency: a fresh broker, worker and sink as above; {args['latency_rate']:g} tasks/s for {args['latency_seconds']:g} s, "
        "each input starting with a unique marker; latency = the end of the first poll whose answer holds the marker - "
        "time.time() just before its `phospho.log`. Stages from the Kafka timestamps of the task event and of its task row.",
    ]
    if pre.get("old_worker"):
        lines.append(f"Old worker: `{args['old_worker_cmd']}` (its own venv), same topics and environment, run after the "
                     "new one; its rows are JSON arrays.")
    sizes = _get(report, "insights", "sizes") or []
    if sizes:
        lines.append("Insights (`_pipeline_insights.py`): INSERT ... SELECT FROM numbers() into the phospho_store tables, as "
                     "the stages write them: per task a core row (three app versions, a span summary), a window row and an "
                     "analytics row, an evaluation row on 80 % (the judge's flag, LLM events) and a feedback row on 10 %, per "
                     "window its final row and the version before it, events on 30 %, a topics run over the latest ~20,000 "
                     "tasks: " + "; ".join(
                         f"{s['tasks']:,} tasks, {s['windows']:,} windows, generated in {s['generate_seconds']:.0f} s "
                         f"({s['task_rows']:,} partial task rows left after background merges)" for s in sizes)
                     + ". Merges not forced; the queries run through the views (FINAL inside); load average before the "
                     f"part: {', '.join(f'{x:.1f}' for x in report['insights'].get('loadavg') or []) or 'n/a'} (2 cores).")
    return lines
