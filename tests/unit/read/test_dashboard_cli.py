"""`phospho-stream dashboard` as a command: alone on a store (here an empty chDB directory:
every page answers), opened from the URL it prints (the token traded for a cookie); when the
running `up` it reads through stops answering, every API request still gets a JSON answer (and
`phospho-stream query` a one-line error)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from phospho_stream.read import write_up_file

CLI = Path(sys.executable).parent / "phospho-stream"


def serve(args, env=None):
    proc = subprocess.Popen([str(CLI), "dashboard", *args], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:") and "/?token=" in url, proc.stderr.read() if proc.poll() is not None else url
    return proc, url


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


@contextmanager
def browser_session(login_url: str) -> Iterator[httpx.Client]:
    """What a browser does with the printed URL: opens it once, keeps the cookie."""
    parts = urlsplit(login_url)
    with httpx.Client(base_url=f"{parts.scheme}://{parts.netloc}", trust_env=False, timeout=30) as client:
        response = client.get(f"/?{parts.query}")
        assert response.status_code == 303 and response.headers["location"] == "/"
        yield client


def test_dashboard_alone_on_an_empty_store(tmp_path):
    store = tmp_path / "chdb"
    subprocess.run([sys.executable, "-c", f"from phospho_sinks import connect, migrate; migrate(connect('chdb://{store}'))"],
                   check=True, timeout=120)
    proc, url = serve(["--dsn", f"chdb://{store}"])
    try:
        with browser_session(url) as browser:
            assert browser.get("/api/tasks").json() == {"total": 0, "page": 1, "size": 50, "rows": []}
            assert browser.get("/api/users").json()["total"] == 0 and browser.get("/api/sessions").json()["rows"] == []
            shape = browser.get("/api/insights/sessions").json()
            assert shape["sessions"] == 0 and shape["avg_tasks"] is None and shape["duration_quantiles"]["p50"] is None
            assert browser.get("/api/insights/tasks").json() == {"days": [], "models": [], "languages": []}
            assert browser.get("/api/insights/endings").json() == {"endings": []}
            assert browser.get("/api/insights/users").json() == {"power": [], "struggling": [], "cost": [], "negative": []}
            assert browser.get("/api/insights/topics").json() == {"topics": [], "run_id": None, "created_ms": None}
            assert browser.get("/api/events").json() == {"events": [], "sessions": 0}
            assert browser.get("/api/event", params={"event": "x"}).json()["rows"] == []
            assert browser.get("/api/facets").json() == {"versions": [], "models": [], "projects": [], "languages": [], "events": []}
            export = browser.get("/api/export/tasks")
            assert export.status_code == 200 and export.text.startswith("task_id,created_at_utc,") and export.text.count("\n") == 1
            assert 'id="view"' in browser.get("/").text
        assert httpx.get(url.split("?")[0] + "api/tasks", trust_env=False).status_code == 401  # no cookie, no token
    finally:
        stop(proc)


def test_a_port_in_use_is_one_line_and_exit_code_2(tmp_path):
    store = tmp_path / "chdb"
    subprocess.run([sys.executable, "-c", f"from phospho_sinks import connect, migrate; migrate(connect('chdb://{store}'))"],
                   check=True, timeout=120)
    taken = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    try:
        done = subprocess.run([str(CLI), "dashboard", "--dsn", f"chdb://{store}", "--port", str(taken.server_address[1])],
                              capture_output=True, text=True, timeout=120)
    finally:
        taken.server_close()
    assert done.returncode == 2 and done.stderr.startswith("phospho-stream dashboard: cannot listen on 127.0.0.1:")
    assert done.stderr.count("\n") == 1 and done.stdout == ""


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


def test_the_dashboard_answers_in_json_when_the_running_up_goes_away(tmp_path):
    """up.json as `up` writes it, for an `up` whose process still runs (here a sleeping child)
    while its endpoint is gone: nothing listens, then a listener hangs up, then another program
    answers there. The dashboard (reading through `up`) answers each request with JSON: 502
    with the reason."""
    data = tmp_path / "data"
    data.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    closed = ThreadingHTTPServer(("127.0.0.1", 0), NotUp)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there
    up_url, not_up = f"http://127.0.0.1:{port}/", None
    write_up_file(data, {"pid": holder.pid, "url": up_url + "api/query", "dashboard": up_url, "token": "t",
                         "dsn": f"chdb://{data / 'chdb'}"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOSPHO_")} | {"PHOSPHO_DATA_DIR": str(data)}
    proc, url = serve([], env=env)
    try:
        with browser_session(url) as browser:
            response = browser.get("/api/tasks")
            assert response.status_code == 502
            assert response.json()["error"].startswith(f"the store failed: the running pipeline at {up_url} did not answer")
            done = subprocess.run([str(CLI), "query", "SELECT 1"], env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 1 and done.stderr.startswith(
                f"phospho-stream query: the running pipeline at {up_url} did not answer"), done.stderr
            assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1

            not_up = ThreadingHTTPServer(("127.0.0.1", port), NotUp)
            threading.Thread(target=not_up.serve_forever, daemon=True).start()
            response = browser.get("/api/session", params={"id": "x"})
            assert response.status_code == 502 and f"the running pipeline at {up_url} did not answer" in response.json()["error"]

            NotUp.mode = "page"  # not an answer of `up`
            response = browser.get("/api/users")
            assert response.status_code == 502
            assert "did not answer as phospho-stream up does (HTTP 200, text/html)" in response.json()["error"]
            assert browser.get("/api/nope").status_code == 404  # and it serves on
    finally:
        NotUp.mode = "hang up"
        if not_up is not None:
            not_up.shutdown()
            not_up.server_close()
        holder.kill()
        holder.wait()
        stop(proc)
    assert "the running `phospho-stream up`" in proc.stderr.read()
