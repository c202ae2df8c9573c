#!/usr/bin/env python3
"""SDK overhead: what phospho.log costs the caller, and how fast events get delivered.

    .venv/bin/python benchmarks/sdk_overhead.py            # full run (make bench)
    .venv/bin/python benchmarks/sdk_overhead.py --quick    # smoke run, smaller numbers

In one run:

1. Baseline: phospho 0.3.45 from PyPI, in a venv of its own (.bench/phospho-0.3.45, created if
   missing), in a child process (both packages are named `phospho`). It sends to a local HTTP
   endpoint that answers 200 `{}` to everything and counts the events received
   (benchmarks/_http_sink.py). The child times each phospho.log(input=..., output=...) call
   (perf_counter_ns) over --calls calls after a warm-up, then flushes; delivered events/s =
   events received / (first log -> last event received).
2. This SDK, in a child process run with this project's python, against an EmbeddedBroker:
   (a) the same per-call measurement (same payload, same code: benchmarks/_sdk_child.py);
   (b) --sustained calls as fast as possible from one thread, then phospho.flush(120);
   delivered events/s = calls / (first log -> flush returning True); nothing lost
   (stats: delivered == everything sent, failed == 0; the tasks topic's end offsets == sent);
   peak RSS (ru_maxrss) before and after.

Prints a table and the ratios, writes .bench/sdk_overhead.json (a --quick run that leaves
BENCHMARKS.md alone: .bench/sdk_overhead-quick.json), and rewrites this benchmark's
section of BENCHMARKS.md (between <!-- sdk_overhead:start --> and <!-- sdk_overhead:end -->;
other sections are kept). A --quick run leaves BENCHMARKS.md alone unless --write-md is given.
Progress goes to stderr. Exit status: 0 when the harness ran (whatever the figures), 1 with
--check when a target fails, 2 when the harness itself could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _markdown import rewrite_section  # benchmarks/ is on sys.path when a script runs

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCH_DIR = REPO / ".bench"
BASELINE_VERSION = "0.3.45"
BASELINE_VENV = BENCH_DIR / f"phospho-{BASELINE_VERSION}"
RESULTS_JSON = BENCH_DIR / "sdk_overhead.json"
BENCHMARKS_MD = REPO / "BENCHMARKS.md"
CHILD = HERE / "_sdk_child.py"
START, END = "<!-- sdk_overhead:start -->", "<!-- sdk_overhead:end -->"

# the same payload for both SDKs: a short chat turn, as plain strings
PAYLOAD_INPUT = (
    "I ordered a pair of running shoes last week (order #48213) and they still haven't "
    "shipped. Can you tell me when they will arrive, and whether I can change the size to 44?"
)
PAYLOAD_OUTPUT = (
    "I'm sorry for the wait! Your order #48213 left our warehouse this morning and should "
    "arrive within 2-3 business days; you'll get a tracking link by email shortly. Since it "
    "has already shipped, I can't change the size on this order, but exchanges are free: once "
    "the shoes arrive, open the order page, choose 'Exchange', pick size 44 and drop the parcel "
    "at any pick-up point. Is there anything else I can help you with?"
)

TARGETS = {"ratio": 20.0, "median_us": 8.0, "sustained_eps": 50_000.0, "rss_mb": 1024.0}


def progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ensure_project_python() -> None:
    """The harness needs this project's packages (the embedded broker, confluent-kafka): re-run
    with the project's venv when started with another interpreter."""
    try:
        import confluent_kafka  # noqa: F401

        import phospho_stream  # noqa: F401
    except ImportError:
        venv_python = REPO / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.executable).resolve() != venv_python.resolve():
            progress(f"re-running with {venv_python} (this python lacks phospho_stream)")
            os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
        raise SystemExit("sdk_overhead: phospho_stream is not importable; run `make install` first") from None


# -- machine ----------------------------------------------------------------------------------

def machine_info() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count()
    return {
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "nproc": nproc, "cpu": cpu, "mem_gb": mem_gb, "platform": platform.platform(),
        "python": platform.python_version(), "python_executable": sys.executable,
    }


# -- children -----------------------------------------------------------------------------------

def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # each child imports its own `phospho`, nothing else
    env.pop("PYTHONSTARTUP", None)
    for var in ("PHOSPHO_TEST_ID", "PHOSPHO_TEST_METRIC", "PHOSPHO_SCHEMA_REGISTRY_URL"):
        env.pop(var, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_child(python: str, cfg: dict[str, Any], timeout: float, workdir: Path) -> dict[str, Any]:
    """Run _sdk_child.py with `python`; its result dict, with 'returncode' and, when something
    went wrong, 'error'."""
    cfg_path = workdir / f"{cfg['sdk']}-config.json"
    cfg["result_path"] = str(workdir / f"{cfg['sdk']}-result.json")
    cfg_path.write_text(json.dumps(cfg))
    # stdout to our stderr: the table is the only thing this script prints on stdout
    proc = subprocess.Popen([python, str(CHILD), str(cfg_path)], env=child_env(), cwd=str(workdir),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    relay = threading.Thread(target=_relay, args=(proc.stdout, cfg["sdk"]), daemon=True)
    relay.start()
    error = None
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        error = f"the {cfg['sdk']} child did not finish within {timeout:.0f} s (hang?); thread stacks dumped above"
        progress(error)
        try:
            proc.send_signal(signal.SIGUSR1)  # faulthandler: every thread's stack to stderr
            proc.wait(2)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    relay.join(10)
    try:
        result = json.loads(Path(cfg["result_path"]).read_text())
    except (OSError, ValueError):
        result = {}
    result["returncode"] = proc.returncode
    if error is None and proc.returncode != 0:
        error = f"the {cfg['sdk']} child exited with status {proc.returncode} in phase {result.get('phase')!r}"
    if error is None and result.get("phase") != "done":
        error = f"the {cfg['sdk']} child stopped in phase {result.get('phase')!r}"
    if error:
        result["error"] = error
    return result


def _relay(stream: Any, name: str, repeats: int = 3) -> None:
    """Copy a child's output to our stderr; a line repeated with only ids changing (an SDK
    logging every lost event, say) is shown `repeats` times, then counted."""
    seen: dict[str, int] = {}
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\n")
        if re.match(r"\[\d\d:\d\d:\d\d\] child: ", line):  # the child's own progress: always shown
            print(line, file=sys.stderr, flush=True)
            continue
        key = re.sub(r"[0-9a-f]{12,}|\d+", "#", line)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= repeats:
            print(line, file=sys.stderr, flush=True)
        elif seen[key] == repeats + 1:
            print(f"[{name} child: more lines like this one are counted, not shown]", file=sys.stderr, flush=True)
    for key, n in seen.items():
        if n > repeats:
            print(f"[{name} child: {n:,} lines like: {key[:200]}]", file=sys.stderr, flush=True)


def ensure_baseline_venv() -> Path:
    python = BASELINE_VENV / "bin" / "python"
    check = [str(python), "-W", "ignore", "-c",
             "import importlib.metadata as m, phospho; print(m.version('phospho'))"]
    if python.exists():
        out = subprocess.run(check, capture_output=True, text=True, env=child_env())
        if out.returncode == 0 and out.stdout.strip() == BASELINE_VERSION:
            return python
        progress(f"{BASELINE_VENV} is there but has no working phospho {BASELINE_VERSION}; recreating it")
        shutil.rmtree(BASELINE_VENV)
    base = shutil.which("python3") or sys.executable
    progress(f"creating {BASELINE_VENV} ({base} -m venv; pip install phospho=={BASELINE_VERSION})")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run([base, "-m", "venv", str(BASELINE_VENV)], check=True, stdout=sys.stderr)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    f"phospho=={BASELINE_VERSION}"], check=True, stdout=sys.stderr)
    out = subprocess.run(check, capture_output=True, text=True, env=child_env())
    if out.returncode != 0 or out.stdout.strip() != BASELINE_VERSION:
        raise RuntimeError(f"phospho {BASELINE_VERSION} does not import in {BASELINE_VENV}: {out.stderr[-2000:]}")
    return python


def run_baseline(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from _http_sink import HttpSink

    python = ensure_baseline_venv()
    sent = args.warmup + args.calls
    with HttpSink() as sink:
        progress(f"baseline: phospho {BASELINE_VERSION} -> HTTP sink at {sink.base_url}")
        cfg = {
            "sdk": "baseline", "calls": args.calls, "warmup": args.warmup,
            "input": PAYLOAD_INPUT, "output": PAYLOAD_OUTPUT,
            "api_key": "bench-api-key", "project_id": "bench-project", "base_url": sink.base_url,
        }
        res = run_child(str(python), cfg, timeout=args.timeout, workdir=workdir)
        # flush() + stopping the consumer sent everything; allow for requests still being read
        sink.wait_for(sent, timeout=10.0 if "error" not in res else 1.0)
        snap = sink.snapshot()
    res["sink"] = snap
    res["sent"] = sent
    res["received"] = snap["events"]
    res["lost"] = max(0, sent - snap["events"])
    res["duplicates"] = max(0, snap["events"] - sent)
    if snap["events"] and snap["last_event_ns"] and res.get("first_log_ns"):
        seconds = (snap["last_event_ns"] - res["first_log_ns"]) / 1e9
        res["delivery_seconds"] = seconds
        res["delivered_eps"] = snap["events"] / seconds if seconds > 0 else None
        if res.get("logged_ns"):
            res["tail_seconds"] = (snap["last_event_ns"] - res["logged_ns"]) / 1e9
    if res.get("maxrss_after_kb"):
        res["peak_rss_mb"] = res["maxrss_after_kb"] / 1024
    return res


def run_ours(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from phospho_stream import EmbeddedBroker

    broker_log = BENCH_DIR / "sdk_overhead-tansu.log"
    broker_log.unlink(missing_ok=True)
    sent = args.warmup + args.calls + args.sustained
    with tempfile.TemporaryDirectory(prefix="phospho-bench-spool-") as spool, \
            EmbeddedBroker(log_path=broker_log) as broker:
        topic = broker.topics.tasks
        progress(f"ours: embedded broker at {broker.bootstrap} (topic {topic}), spool {spool}")
        cfg = {
            "sdk": "ours", "calls": args.calls, "warmup": args.warmup, "sustained": args.sustained,
            "input": PAYLOAD_INPUT, "output": PAYLOAD_OUTPUT, "project_id": "bench-project",
            "bootstrap": broker.bootstrap, "spool_dir": spool, "max_queue_size": args.max_queue_size,
            "flush_timeout": args.flush_timeout,
        }
        res = run_child(sys.executable, cfg, timeout=args.timeout, workdir=workdir)
        try:
            res["topic_end_offsets"] = end_offsets(broker.bootstrap, topic)
        except Exception as exc:  # report, never hide
            res["topic_end_offsets"] = None
            progress(f"ours: could not read the end offsets of {topic}: {exc!r}")
        progress(f"ours: end offsets of {topic}: {res['topic_end_offsets']}; reading the topic back to count its messages")
        try:
            res["topic_read"] = read_topic(broker.bootstrap, topic, expected=sent)
            res["topic_messages"] = res["topic_read"]["messages"]
            progress(f"ours: read {res['topic_messages']:,} messages ({res['topic_read']['distinct_values']:,} distinct) "
                     f"in {res['topic_read']['seconds']:.1f} s")
        except Exception as exc:
            res["topic_messages"] = None
            res.setdefault("error", f"could not read {topic} back: {exc!r}")
        res["broker_peak_rss_mb"] = _proc_hwm_mb(broker._proc.pid) if broker._proc else None
        res["spool_files_left"] = sorted(p.name for p in Path(spool).rglob("*") if p.is_file())
    res["sent"] = sent
    res["flush_timeout"] = args.flush_timeout
    stats = res.get("stats_after_sustained_flush") or {}
    res["stats_delivered"] = stats.get("delivered")
    res["stats_failed"] = stats.get("failed")
    res["stats_spooled"] = stats.get("spooled")
    read = res.get("topic_read")
    if read is not None:
        res["lost"] = max(0, sent - read["distinct_values"])
        res["duplicates"] = read["messages"] - read["distinct_values"]
        res["unexpected"] = max(0, read["distinct_values"] - sent)  # events nobody sent: should be 0
    else:
        res["lost"] = res["duplicates"] = res["unexpected"] = None
    if res.get("sustained_flush_ok") and res.get("sustained_start_ns"):
        seconds = (res["sustained_flushed_ns"] - res["sustained_start_ns"]) / 1e9
        res["sustained_seconds"] = seconds
        res["delivered_eps"] = args.sustained / seconds
        res["caller_loop_eps"] = args.sustained / ((res["sustained_logged_ns"] - res["sustained_start_ns"]) / 1e9)
    if res.get("per_call_flush_ok") and res.get("first_log_ns"):  # the baseline's method, same calls
        seconds = (res["flushed_ns"] - res["first_log_ns"]) / 1e9
        res["per_call_run_delivered_eps"] = res["per_call_sent"] / seconds
        res["per_call_tail_seconds"] = (res["flushed_ns"] - res["logged_ns"]) / 1e9
    if res.get("maxrss_after_kb"):
        res["peak_rss_mb"] = res["maxrss_after_kb"] / 1024
        res["peak_rss_before_sustained_mb"] = res["maxrss_before_sustained_kb"] / 1024
    return res


def _proc_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def read_topic(bootstrap: str, topic: str, expected: int, idle: float = 3.0, timeout: float = 600.0) -> dict[str, Any]:
    """Every message of `topic` read back from the beginning: the count, distinct values (each
    task event is unique, so a duplicate shows as a repeated value) and offsets per partition.
    Stops `idle` seconds after the last message once `expected` were read (or `idle` * 5
    seconds with nothing new before that), or after `timeout`.

    The messages are counted by reading them because the embedded broker's high watermark is
    not exact: Tansu 0.6 (memory storage) answers ListOffsets(latest) with the base offset of
    the partition's last record batch + 1, short of the batch's other records, so end offsets
    under-count whenever the last batch holds more than one message."""
    import uuid

    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}",
        "enable.auto.commit": False, "auto.offset.reset": "earliest", "log_level": 0,
    })
    start = time.monotonic()
    count, errors, hashes = 0, 0, set()
    parts: dict[int, dict[str, int]] = {}
    try:
        meta = consumer.list_topics(topic, timeout=10)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.topics[topic].partitions])
        last_new = time.monotonic()
        while time.monotonic() - start < timeout:
            msgs = consumer.consume(10_000, 0.2)
            now = time.monotonic()
            for msg in msgs:
                if msg.error():
                    errors += 1
                    continue
                count += 1
                hashes.add(hash(msg.value()))
                p = parts.setdefault(msg.partition(), {"messages": 0, "min_offset": msg.offset(), "max_offset": msg.offset()})
                p["messages"] += 1
                p["min_offset"] = min(p["min_offset"], msg.offset())
                p["max_offset"] = max(p["max_offset"], msg.offset())
            if msgs:
                last_new = now
            elif now - last_new > (idle if count >= expected else idle * 5):
                break
    finally:
        consumer.close()
    return {
        "messages": count, "distinct_values": len(hashes), "errors": errors,
        "partitions": {str(k): v for k, v in sorted(parts.items())}, "seconds": time.monotonic() - start,
    }


def end_offsets(bootstrap: str, topic: str) -> int:
    """Messages in a topic by its watermarks (tests/support/kafka.end_offsets)."""
    sys.path.insert(0, str(REPO))
    try:
        from tests.support.kafka import end_offsets as helper
    finally:
        sys.path.remove(str(REPO))
    return helper(bootstrap, topic)


# -- report -------------------------------------------------------------------------------------

def _f(value: Any, fmt: str = "{:,.2f}", missing: str = "n/a") -> str:
    return missing if value is None else fmt.format(value)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def evaluate(base: dict[str, Any] | None, ours: dict[str, Any], sustained: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    ours_pc = ours.get("per_call") or {}
    base_pc = (base or {}).get("per_call") or {}
    ratios: dict[str, Any] = {}
    if base_pc and ours_pc:
        ratios["median"] = base_pc["median_us"] / ours_pc["median_us"]
        ratios["p99"] = base_pc["p99_us"] / ours_pc["p99_us"]
        ratios["mean"] = base_pc["mean_us"] / ours_pc["mean_us"]
    stats = ours.get("stats_after_sustained_flush") or {}
    sent = ours.get("sent")
    zero_lost = None
    if "stats_after_sustained_flush" in ours or ours.get("topic_messages") is not None:
        zero_lost = bool(
            ours.get("sustained_flush_ok")
            and stats.get("delivered") == sent
            and stats.get("failed") == 0
            and ours.get("topic_messages") == sent
            and (ours.get("topic_read") or {}).get("distinct_values") == sent
        )
    rss = ours.get("peak_rss_mb")
    median = ours_pc.get("median_us")
    eps = ours.get("delivered_eps")
    targets = [
        {"name": f"median cost ratio phospho {BASELINE_VERSION} / ours >= {TARGETS['ratio']:.0f}x",
         "value": _f(ratios.get("median"), "{:,.1f}x"), "ok": None if "median" not in ratios else ratios["median"] >= TARGETS["ratio"]},
        {"name": f"ours median <= {TARGETS['median_us']:g} us/call", "value": _f(median, "{:.2f} us"),
         "ok": None if median is None else median <= TARGETS["median_us"]},
        {"name": f"ours sustained delivery >= {TARGETS['sustained_eps']:,.0f} events/s", "value": _f(eps, "{:,.0f} events/s"),
         "ok": None if "stats_after_sustained_flush" not in ours else bool(eps and eps >= TARGETS["sustained_eps"])},
        {"name": f"0 lost at {sustained:,} calls (flush True; stats delivered == sent, failed == 0; tasks topic read back == sent, no duplicate)",
         "value": (f"lost {ours.get('lost')}, delivered {stats.get('delivered')}/{sent}, failed {stats.get('failed')}, "
                   f"read back {ours.get('topic_messages')} ({(ours.get('topic_read') or {}).get('distinct_values')} distinct), "
                   f"flush {ours.get('sustained_flush_ok')}"),
         "ok": zero_lost},
        {"name": f"ours peak RSS < {TARGETS['rss_mb']:,.0f} MB (bounded memory)", "value": _f(rss, "{:,.0f} MB"),
         "ok": None if rss is None else rss < TARGETS["rss_mb"]},
    ]
    return ratios, targets


def table_rows(base: dict[str, Any] | None, ours: dict[str, Any], args: argparse.Namespace) -> list[list[str]]:
    rows = []
    if base is not None:
        pc = base.get("per_call") or {}
        rows.append([
            f"phospho {BASELINE_VERSION} (PyPI; HTTP)", _f(pc.get("median_us")), _f(pc.get("p99_us")),
            _f(base.get("delivered_eps"), "{:,.0f}") + f" ({base.get('sent', 0):,} ev)",
            _f(base.get("lost"), "{:,}"), _f(base.get("peak_rss_mb"), "{:,.0f}"),
        ])
    pc = ours.get("per_call") or {}
    rows.append([
        f"phospho-stream {ours.get('sdk_version', '?')} (Kafka; Avro)", _f(pc.get("median_us")), _f(pc.get("p99_us")),
        _f(ours.get("delivered_eps"), "{:,.0f}") + f" ({args.sustained:,} ev)",
        _f(ours.get("lost"), "{:,}"), _f(ours.get("peak_rss_mb"), "{:,.0f}"),
    ])
    return rows


HEADERS = ["SDK", "median us/call", "p99 us/call", "delivered events/s", "lost events", "peak RSS MB"]


def format_console(rows: list[list[str]], ratios: dict[str, Any], targets: list[dict[str, Any]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))  # noqa: E731
    out = [line(HEADERS), line(["-" * w for w in widths]), *(line(r) for r in rows), ""]
    if ratios:
        out.append(f"ratios phospho {BASELINE_VERSION} / ours: median {ratios['median']:.1f}x, "
                   f"p99 {ratios['p99']:.1f}x, mean {ratios['mean']:.1f}x")
    for t in targets:
        out.append(f"  [{verdict(t['ok'])}] {t['name']}: {t['value']}")
    return "\n".join(out)


def format_markdown(report: dict[str, Any], rows: list[list[str]], ratios: dict[str, Any], targets: list[dict[str, Any]]) -> str:
    m, a = report["machine"], report["args"]
    base, ours = report.get("baseline"), report["ours"]
    md = [START, "## SDK overhead (`benchmarks/sdk_overhead.py`)", ""]
    if report["quick"]:
        md += ["> **Quick smoke run (`--quick`): small numbers, not representative.**", ""]
    md += [
        f"Run {report['date']} on {m['nproc']} CPUs ({m['cpu'] or 'unknown CPU'}, {m['mem_gb']} GB), "
        f"{m['platform']} (load average {m['loadavg_at_start'][0]:.2f} at start); Python {m['python']} (phospho {BASELINE_VERSION}'s venv: Python {(base or {}).get('python', 'n/a')}). "
        f"Command: `{report['command']}`.",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(HEADERS) - 1)) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
    ]
    if ratios:
        md.append(f"Ratios phospho {BASELINE_VERSION} / ours: **median {ratios['median']:.1f}x**, p99 {ratios['p99']:.1f}x, mean {ratios['mean']:.1f}x.")
        md.append("")
    md += ["| target | measured | result |", "|---|---|---|"]
    md += [f"| {t['name']} | {t['value']} | **{verdict(t['ok'])}** |" for t in targets]
    md += ["", "How it was measured:", ""]
    md.append(
        f"- Per-call cost: `phospho.log(input=..., output=...)` with the same two strings "
        f"({len(PAYLOAD_INPUT)} and {len(PAYLOAD_OUTPUT)} characters), {a['warmup']:,} warm-up calls then "
        f"{a['calls']:,} calls each timed with `time.perf_counter_ns()` (timer overhead ~"
        f"{_f(ours.get('timer_overhead_ns'), '{:.0f}')} ns, not subtracted); the same code "
        "(`benchmarks/_sdk_child.py`) runs each SDK in a process of its own, GC on, the SDK's "
        "background thread running as in an app.")
    if base is not None:
        sink = base.get("sink") or {}
        md.append(
            f"- phospho {BASELINE_VERSION} (its own venv, `.bench/phospho-{BASELINE_VERSION}`) POSTs to a local "
            f"threaded HTTP server answering 200 `{{}}` (`benchmarks/_http_sink.py`; it received "
            f"{sink.get('events', 0):,} events in {sink.get('log_posts', 0):,} POSTs). Its delivered events/s = "
            f"events received / (first log -> last event received), over its {base.get('sent', 0):,} per-call "
            f"events (its consumer sends every 0.5 s tick). Peak RSS: the child's ru_maxrss.")
    if base is not None and base.get("error"):
        md.append(f"- **baseline error:** {base['error']}")
    md.append(
        f"- phospho-stream: an EmbeddedBroker (Tansu), default settings (max_queue_size "
        f"{a['max_queue_size'] or 'default'}), a fresh spool directory. Sustained: {a['sustained']:,} calls "
        f"from one thread as fast as possible (caller loop: {_f(ours.get('caller_loop_eps'), '{:,.0f}')} calls/s), then "
        f"`phospho.flush({a['flush_timeout']:g})`; delivered events/s = calls / (first log -> flush returning True: "
        f"{args_secs(ours)}). Lost = sent - distinct messages read back from the tasks topic "
        f"({_f(ours.get('topic_messages'), '{:,}')} read, {_f((ours.get('topic_read') or {}).get('distinct_values'), '{:,}')} distinct, "
        f"for {ours.get('sent', 0):,} sent, warm-up and per-call calls included; duplicates {_f(ours.get('duplicates'), '{:,}')}). "
        f"The topic's end offsets (`tests/support/kafka.end_offsets`) said {_f(ours.get('topic_end_offsets'), '{:,}')}: "
        "the embedded Tansu broker reports a high watermark short of the last record batch, so the harness counts by reading. Stats: delivered "
        f"{_f(ours.get('stats_delivered'), '{:,}')}, failed {_f(ours.get('stats_failed'), '{:,}')}, spooled "
        f"{_f(ours.get('stats_spooled'), '{:,}')} (queue and librdkafka buffer both full: written to the spool, then sent).")
    md.append(
        f"- phospho-stream peak RSS (ru_maxrss): {_f(ours.get('peak_rss_before_sustained_mb'), '{:,.0f}')} MB before the "
        f"sustained run, {_f(ours.get('peak_rss_mb'), '{:,.0f}')} MB after; the broker process peaked at "
        f"{_f(ours.get('broker_peak_rss_mb'), '{:,.0f}')} MB. Over the same {ours.get('per_call_sent', 0):,} per-call "
        f"events, measured like the baseline's (first log -> flush True), it delivered "
        f"{_f(ours.get('per_call_run_delivered_eps'), '{:,.0f}')} events/s; from the last call to delivery: "
        f"{_f(ours.get('per_call_tail_seconds'), '{:.2f} s')} (flush) against {_f((base or {}).get('tail_seconds'), '{:.2f} s')} "
        f"for phospho {BASELINE_VERSION} (last call -> last event received).")
    for finding in findings(ours):
        md.append(f"- **Observed:** {finding}")
    if ours.get("error"):
        md.append(f"- **phospho-stream error:** {ours['error']}")
    md += ["", "Raw results: `.bench/sdk_overhead.json` (not committed).", END]
    return "\n".join(md) + "\n"


def findings(ours: dict[str, Any]) -> list[str]:
    """Misbehaviour of the SDK under test worth a line of its own."""
    out = []
    stats = ours.get("stats_after_sustained_flush") or {}
    loop = ours.get("sustained_logged_ns"), ours.get("sustained_start_ns")
    if all(loop):
        secs = (loop[0] - loop[1]) / 1e9
        out_of = ours.get("sustained_sent") or 0
        if out_of and stats.get("spooled"):
            out.append(
                f"the sustained caller loop took {secs:.1f} s ({out_of / secs:,.0f} calls/s, i.e. "
                f"{secs / out_of * 1e6:.1f} us per call on average against a {(ours.get('per_call') or {}).get('median_us', 0):.1f} us "
                f"median when the queue has room; a call that finds the queue full encodes and produces its "
                f"event itself): {stats['spooled']:,} events found both the queue and librdkafka's buffer full, "
                "went through the durable spool, and were sent from it.")
    if stats.get("failed"):
        out.append(
            f"phospho.stats() counts {stats['failed']:,} failed (lost) events after the sustained run "
            f"(last_failure: `{stats.get('last_failure')}`)"
            + ("; phospho.flush() returned True all the same." if ours.get("sustained_flush_ok") else "."))
    if ours.get("sustained_flush_ok") is False:
        out.append(f"phospho.flush({ours.get('flush_timeout', '')}) returned False after the sustained run; "
                   f"one more flush: {ours.get('extra_flush_ok')}, stats then {ours.get('stats_after_extra_flush')}.")
    if ours.get("duplicates"):
        out.append(f"{ours['duplicates']:,} duplicate messages in the tasks topic.")
    return out


def args_secs(ours: dict[str, Any]) -> str:
    s = ours.get("sustained_seconds")
    return "n/a (flush did not return True)" if s is None else f"{s:.2f} s"


def write_markdown(section: str) -> None:
    rewrite_section(BENCHMARKS_MD, START, END, section)


# -- main ---------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=None, help="timed phospho.log calls per SDK (default 20000; --quick: 2000)")
    p.add_argument("--warmup", type=int, default=None, help="untimed warm-up calls before them (default 1000; --quick: 200)")
    p.add_argument("--sustained", type=int, default=None, help="calls of the sustained-delivery run (default 1000000; --quick: 50000)")
    p.add_argument("--quick", action="store_true", help="smaller numbers, for a smoke run")
    p.add_argument("--no-baseline", action="store_true", help=f"skip phospho {BASELINE_VERSION}")
    p.add_argument("--max-queue-size", type=int, default=None, help="phospho.init(max_queue_size=...) for ours (default: the SDK's)")
    p.add_argument("--flush-timeout", type=float, default=120.0, help="phospho.flush(timeout) after the sustained run")
    p.add_argument("--timeout", type=float, default=None, help="seconds before a child is declared hung (default: from the sizes)")
    p.add_argument("--write-md", action="store_true", help="rewrite BENCHMARKS.md even for a --quick run")
    p.add_argument("--no-md", action="store_true", help="do not rewrite BENCHMARKS.md")
    p.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    args = p.parse_args(argv)
    args.calls = args.calls if args.calls is not None else (2_000 if args.quick else 20_000)
    args.warmup = args.warmup if args.warmup is not None else (200 if args.quick else 1_000)
    args.sustained = args.sustained if args.sustained is not None else (50_000 if args.quick else 1_000_000)
    if min(args.calls, args.sustained) < 1 or args.warmup < 0:
        p.error("--calls and --sustained must be >= 1, --warmup >= 0")
    if args.timeout is None:
        args.timeout = 300.0 + args.flush_timeout + args.calls / 200 + args.sustained / 2_000
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ensure_project_python()
    sys.path.insert(0, str(HERE))
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "benchmark": "sdk_overhead",
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "command": "python benchmarks/sdk_overhead.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "quick": args.quick, "machine": machine_info(), "args": vars(args), "targets": TARGETS,
        "payload_chars": {"input": len(PAYLOAD_INPUT), "output": len(PAYLOAD_OUTPUT)},
    }
    report["command"] = report["command"].strip()
    progress(f"sdk_overhead: calls={args.calls:,} warmup={args.warmup:,} sustained={args.sustained:,} "
             f"on {report['machine']['nproc']} CPUs, Python {report['machine']['python']}")
    with tempfile.TemporaryDirectory(prefix="sdk-overhead-") as tmp:
        workdir = Path(tmp)
        base = None
        if not args.no_baseline:
            try:
                base = run_baseline(args, workdir)
            except Exception as exc:
                progress(f"baseline failed: {exc!r}")
                base = {"error": f"baseline could not run: {exc!r}"}
            if "error" in base:
                progress(f"baseline: {base['error']}")
        try:
            ours = run_ours(args, workdir)
        except Exception as exc:
            progress(f"ours failed: {exc!r}")
            ours = {"error": f"could not run: {exc!r}", "sent": args.warmup + args.calls + args.sustained}
        if "error" in ours:
            progress(f"ours: {ours['error']}")
    report["baseline"], report["ours"] = base, ours
    ratios, targets = evaluate(base, ours, args.sustained)
    report["ratios"], report["target_results"] = ratios, targets
    rows = table_rows(base, ours, args)

    print(format_console(rows, ratios, targets))
    for finding in findings(ours):
        print(f"observed: {finding}")
    for name, res in (("phospho " + BASELINE_VERSION, base), ("phospho-stream", ours)):
        if res and res.get("error"):
            print(f"error ({name}): {res['error']}")
    skip_md = args.no_md or (args.quick and not args.write_md)
    # a smoke run keeps its JSON apart, so that sdk_overhead.json matches the last full run
    out_json = RESULTS_JSON.with_name("sdk_overhead-quick.json") if args.quick and skip_md else RESULTS_JSON
    out_json.write_text(json.dumps(report, indent=1, default=str))
    progress(f"results: {out_json}")
    if skip_md:
        progress("BENCHMARKS.md left as it is (" + ("--no-md" if args.no_md else "--quick run; pass --write-md to write it") + ")")
    else:
        write_markdown(format_markdown(report, rows, ratios, targets))
        progress(f"rewrote the sdk_overhead section of {BENCHMARKS_MD}")
    if "per_call" not in ours:
        return 2
    if args.check and any(t["ok"] is False for t in targets):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
