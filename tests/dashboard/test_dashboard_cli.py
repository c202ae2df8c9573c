"""`phospho-stream dashboard`: alone on a store (here an empty chDB directory: every page
answers), and through a running `up`'s query endpoint when `up` holds the store; when that
endpoint stops answering, every API request still gets a JSON answer (and `phospho-stream
query` a one-line error)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "phospho-stream"


def serve(args, env=None):
    proc = subprocess.Popen([str(CLI), "dashboard", *args], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else url
    return proc, url


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def get(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_dashboard_alone_on_an_empty_store(tmp_path):
    store = tmp_path / "chdb"
    subprocess.run([sys.executable, "-c", f"from phospho_sinks import connect, migrate; migrate(connect('chdb://{store}'))"],
                   check=True, timeout=120)
    proc, url = serve(["--dsn", f"chdb://{store}"])
    try:
        assert get(url + "api/tasks") == {"total": 0, "page": 1, "size": 50, "rows": []}
        assert get(url + "api/users")["total"] == 0 and get(url + "api/sessions")["rows"] == []
        shape = get(url + "api/insights/sessions")
        assert shape["sessions"] == 0 and shape["avg_tasks"] is None and shape["duration_quantiles"]["p50"] is None
        assert get(url + "api/insights/tasks") == {"days": [], "models": []}
        assert get(url + "api/insights/endings") == {"endings": []}
        with urllib.request.urlopen(url, timeout=30) as response:
            assert b'id="view"' in response.read()
    finally:
        stop(proc)


@pytest.mark.integration
def test_dashboard_reads_through_a_running_up(pipeline):
    proc, url = serve([], env=pipeline.env)  # same data directory: up holds the chDB store
    try:
        assert get(url + "api/tasks?size=1")["total"] == len(pipeline.manifest["tasks"])
        assert get(url + "api/users")["total"] == pipeline.api("users")["total"]
    finally:
        stop(proc)
    assert "the running `phospho-stream up`" in proc.stderr.read()


class NotUp(BaseHTTPRequestHandler):
    """What answers at the address of an `up` that went away: `hang up` closes the connection
    without an answer (as a process going down); `page` is another program's web page."""

    mode = "hang up"

    def do_POST(self):  # noqa: N802 - http.server's naming
        if NotUp.mode == "hang up":
            self.close_connection = True
            return
        body = b"<html><body>not phospho</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def get_any(url):
    """(status, JSON body) of any answer; a dropped connection raises."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_dashboard_answers_in_json_when_the_running_up_goes_away(tmp_path):
    """up.json as `up` writes it, for an `up` whose process still runs (here a sleeping child)
    while its query endpoint is gone: nothing listens, then a listener hangs up, then another
    program answers there. The dashboard (reading through `up`) answers each request with JSON:
    502 with the reason when `up` does not answer, 500 (logged) for anything unexpected."""
    data = tmp_path / "data"
    data.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    closed = ThreadingHTTPServer(("127.0.0.1", 0), NotUp)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there
    endpoint, not_up = f"http://127.0.0.1:{port}/query", None
    (data / "up.json").write_text(json.dumps({"pid": holder.pid, "url": endpoint, "dsn": f"chdb://{data / 'chdb'}"}))
    env = {k: v for k, v in os.environ.items() if k != "PHOSPHO_CLICKHOUSE_DSN"} | {"PHOSPHO_DATA_DIR": str(data)}
    proc, url = serve([], env=env)
    try:
        status, body = get_any(url + "api/tasks")
        assert status == 502 and body["error"].startswith(f"the store failed: the running pipeline at {endpoint} did not answer"), body
        done = subprocess.run([str(CLI), "query", "SELECT 1"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 1 and done.stderr.startswith(
            f"phospho-stream query: the running pipeline at {endpoint} did not answer"), done.stderr
        assert "Traceback" not in done.stderr

        not_up = ThreadingHTTPServer(("127.0.0.1", port), NotUp)
        threading.Thread(target=not_up.serve_forever, daemon=True).start()
        status, body = get_any(url + "api/session?id=x")
        assert status == 502 and f"the running pipeline at {endpoint} did not answer" in body["error"], body

        NotUp.mode = "page"  # not an answer of `up`: unexpected, still JSON
        status, body = get_any(url + "api/users")
        assert status == 500 and body["error"].startswith("the dashboard failed: JSONDecodeError"), body
        assert get_any(url + "api/nope")[0] == 404  # and it serves on
    finally:
        NotUp.mode = "hang up"
        if not_up is not None:
            not_up.shutdown()
            not_up.server_close()
        holder.kill()
        holder.wait()
        stop(proc)
    log = proc.stderr.read()
    assert "GET /api/users failed" in log and "JSONDecodeError" in log, log
