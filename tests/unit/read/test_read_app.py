"""The read app (dashboard and query endpoint), served by uvicorn from a thread on the test
session's chDB store, attacked over HTTP: no token or a wrong one (401), a Host header of another
name (DNS rebinding, 403), a foreign Origin (403), a cross-origin no-cors POST that tries to
create a table, SQL attacks through the endpoint. Each checks the refusal and that nothing
happened. Then the ways in: the bearer token, the printed URL traded for a cookie."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from phospho_sinks import ReadOnlyError, StoreError
from phospho_stream.read import EndpointClient, ReadServer, RunningUp, serve, store_reader

VICTIM = "phospho.read_app_victim"


@pytest.fixture(scope="module")
def server(chdb_store) -> Iterator[ReadServer]:
    chdb_store.command("CREATE DATABASE IF NOT EXISTS phospho")
    chdb_store.command(f"CREATE TABLE IF NOT EXISTS {VICTIM} (a UInt8) ENGINE = MergeTree ORDER BY a")
    chdb_store.command(f"TRUNCATE TABLE {VICTIM}")
    chdb_store.command(f"INSERT INTO {VICTIM} VALUES (1), (2)")
    running = serve(store_reader(chdb_store), "127.0.0.1", 0)
    yield running
    running.stop()


@pytest.fixture
def http(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
        yield client


def bearer(server: ReadServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


def nothing_happened(store) -> None:
    assert store.query(f"SELECT count() FROM {VICTIM}").rows == [(2,)]
    assert store.query("SELECT count() FROM system.tables WHERE database = 'phospho' AND name = 'pwned'").rows == [(0,)]


CREATE = {"sql": "CREATE TABLE phospho.pwned (a UInt8) ENGINE = Memory"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"},
                                     {"Cookie": "phospho-token-1=wrong"}, {"Authorization": "Bearer x y"}])
def test_no_token_or_a_wrong_one_is_401(server, http, chdb_store, headers):
    for method, path, body in (("GET", "/", None), ("GET", "/api/tasks", None), ("GET", "/static/app.js", None),
                               ("POST", "/api/query", CREATE), ("POST", "/api/query", {"sql": f"SELECT * FROM {VICTIM}"})):
        response = http.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (path, response.text)
        assert VICTIM not in response.text and "read_app_victim" not in response.text
    nothing_happened(chdb_store)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.nip.io:{port}", "127.0.0.1:1",
                                  "localhost.evil.example:{port}", "", "0.0.0.0:{port}"])
def test_a_host_header_of_another_name_is_403_even_with_the_token(server, http, chdb_store, host):
    """DNS rebinding: a page of another site whose name now resolves to 127.0.0.1 sends its own
    name in Host."""
    headers = {**bearer(server), "Host": host.format(port=server.port)}
    for method, path, body in (("GET", "/api/tasks", None), ("POST", "/api/query", CREATE), ("GET", "/", None)):
        response = http.request(method, path, json=body, headers=headers)
        assert response.status_code == 403 and "Host" in response.text, (host, path, response.text)
    nothing_happened(chdb_store)


@pytest.mark.parametrize("alias", ["127.0.0.1", "localhost", "[::1]"])
def test_the_loopback_aliases_of_the_served_address_are_accepted(server, http, alias):
    response = http.get("/api/nope", headers={**bearer(server), "Host": f"{alias}:{server.port}"})
    assert response.status_code == 404 and response.json() == {"error": "no API 'nope'"}  # past the checks


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1:{port}",
                                    "http://localhost.evil.example:{port}"])
def test_a_foreign_origin_is_403_even_with_the_token_or_the_cookie(server, http, chdb_store, origin):
    origin = origin.format(port=server.port)
    cookie = {"Cookie": f"phospho-token-{server.port}={server.token}"}
    for credentials in (bearer(server), cookie):
        response = http.post("/api/query", json=CREATE, headers={**credentials, "Origin": origin})
        assert response.status_code == 403 and "cross-origin" in response.text, response.text
    nothing_happened(chdb_store)


def test_a_cross_origin_no_cors_post_creates_nothing(server, http, chdb_store):
    """What a page of another site can make a browser send: a simple POST (text/plain, no
    custom header), with its Origin; the SameSite=Strict cookie is not sent cross-site, and
    would not help it either."""
    body = '{"sql": "CREATE TABLE phospho.pwned (a UInt8) ENGINE = Memory"}'
    simple = {"Content-Type": "text/plain", "Origin": "http://evil.example", "Sec-Fetch-Mode": "no-cors",
              "Sec-Fetch-Site": "cross-site"}
    for extra in ({}, {"Cookie": f"phospho-token-{server.port}={server.token}"}):
        response = http.post("/api/query", content=body, headers={**simple, **extra})
        assert response.status_code == 403
    nothing_happened(chdb_store)


@pytest.mark.parametrize(("sql", "named"), [
    ("SELECT '--'; DROP TABLE " + VICTIM, "2 statements (SELECT, DROP)"),
    ("SELECT 1 /* ; */; DROP TABLE " + VICTIM, "2 statements (SELECT, DROP)"),
    (CREATE["sql"], "refused: CREATE"),
    ("WITH x AS (SELECT 1) INSERT INTO " + VICTIM + " SELECT * FROM x", "refused: INSERT"),
    ("SELECT 1 SETTINGS readonly = 0", "a SETTINGS clause"),
    ("SELECT * FROM file('/etc/passwd', 'LineAsString')", "the table function file()"),
    ("SELECT * FROM system.tables", "system.tables"),
])
def test_sql_attacks_through_the_endpoint_are_refused(server, http, chdb_store, sql, named):
    response = http.post("/api/query", json={"sql": sql}, headers=bearer(server))
    assert response.status_code == 400
    body = response.json()
    assert body["kind"] == "refused" and named in body["error"], body
    nothing_happened(chdb_store)


def test_the_endpoint_answers_with_the_token(server, http):
    response = http.post("/api/query", headers=bearer(server),
                         json={"sql": f"SELECT a, {{x:String}} AS x FROM {VICTIM} ORDER BY a", "params": {"x": "it's"}})
    assert response.status_code == 200
    assert response.json() == {"columns": ["a", "x"], "rows": [[1, "it's"], [2, "it's"]]}


@pytest.mark.parametrize(("body", "says"), [
    ("not json", "must be JSON"), ('["SELECT 1"]', "a JSON object"), ('{"sql": 1}', "a JSON object"),
    ('{"sql": "SELECT 1", "params": [1]}', "JSON objects"),
])
def test_a_malformed_request_is_400_with_why(server, http, body, says):
    response = http.post("/api/query", content=body, headers=bearer(server))
    assert response.status_code == 400 and says in response.json()["error"]


def test_bad_sql_gets_clickhouses_own_message_in_one_line(server, http):
    response = http.post("/api/query", json={"sql": "SELECT nope FROM phospho.read_app_victim"}, headers=bearer(server))
    body = response.json()
    assert response.status_code == 400 and body["kind"] == "store"
    assert body["error"].startswith("Code: 47. DB::Exception: Unknown expression identifier `nope`") and "\n" not in body["error"]


def test_the_printed_url_trades_its_token_for_a_strict_http_only_cookie(server, http):
    response = http.get(f"/?token={server.token}")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"phospho-token-{server.port}={server.token};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    page = http.get("/", headers={"Cookie": f"phospho-token-{server.port}={server.token}"})
    assert page.status_code == 200 and 'id="view"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer" and "default-src 'self'" in page.headers["content-security-policy"]


def test_a_wrong_token_in_the_url_sets_no_cookie(server, http):
    response = http.get("/?token=guess")
    assert response.status_code == 401 and "set-cookie" not in response.headers


def test_the_client_half_reads_refuses_and_reports_a_gone_endpoint(server, chdb_store):
    up = RunningUp(pid=0, url=server.url, token=server.token, dsn=chdb_store.dsn)
    client = EndpointClient(up, timeout=30)
    try:
        assert client.query(f"SELECT count() AS n FROM {VICTIM}").dicts() == [{"n": 2}]
        with pytest.raises(ReadOnlyError, match="refused: DROP"):
            client.query(f"DROP TABLE {VICTIM}")
        with pytest.raises(StoreError, match="UNKNOWN_IDENTIFIER"):
            client.query(f"SELECT nope FROM {VICTIM}")
    finally:
        client.close()
    stranger = EndpointClient(RunningUp(pid=0, url=server.url, token="not-the-token", dsn=""), timeout=30)
    with pytest.raises(StoreError, match="refused this request"):
        stranger.query("SELECT 1")
    stranger.close()
    nothing_happened(chdb_store)


def test_a_stopped_app_fails_requests_at_once(chdb_store):
    running = serve(store_reader(chdb_store), "127.0.0.1", 0)
    up = RunningUp(pid=0, url=running.url, token=running.token, dsn=chdb_store.dsn)
    running.stop()
    client = EndpointClient(up, timeout=30)
    with pytest.raises(StoreError, match=f"the running pipeline at {running.url} did not answer"):
        client.query("SELECT 1")
    client.close()


def test_a_port_in_use_is_an_os_error_before_anything_serves(server, chdb_store):
    with pytest.raises(OSError):
        serve(store_reader(chdb_store), "127.0.0.1", server.port)


def test_behind_a_published_port_the_public_address_is_the_one_accepted(chdb_store):
    """A container publishes its port 8000 as 18000 (or a proxy serves it under a name): Host and
    Origin then name the public address, which PHOSPHO_READ_PUBLIC_URL gives."""
    running = serve(store_reader(chdb_store), "127.0.0.1", 0, public_url="http://phospho.test:18000")
    try:
        assert running.url == "http://phospho.test:18000/" and running.login_url.startswith("http://phospho.test:18000/?token=")
        with httpx.Client(base_url=f"http://127.0.0.1:{running.port}", trust_env=False, timeout=30) as http:
            public = {"Host": "phospho.test:18000", "Origin": "http://phospho.test:18000", **bearer(running)}
            assert http.get("/api/nope", headers=public).status_code == 404  # past the checks
            assert http.get("/api/nope", headers={**public, "Host": "phospho.test:8000"}).status_code == 403
            assert http.get("/api/nope", headers={**public, "Origin": "http://phospho.test"}).status_code == 403
    finally:
        running.stop()
