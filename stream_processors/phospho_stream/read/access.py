"""Who may use the read app: an ASGI middleware in front of the dashboard and the endpoint.

- a Host header that is not the served host:port (or its loopback aliases, or the public URL's
  host) gets 403: a page of another site whose name resolves here (DNS rebinding) is refused;
- an Origin header that is not the app's own origin gets 403: no cross-site request, even one
  a browser sends without reading the answer (a no-cors POST);
- every request needs the token: `Authorization: Bearer <token>` (the CLI, from up.json), or
  the cookie set by opening `/?token=<token>` once (the printed URL): HttpOnly,
  SameSite=Strict, then a redirect to the clean URL, as Jupyter does. 401 otherwise.
Every answer carries the page's Content-Security-Policy and no-referrer.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Access", "served_hosts", "LOOPBACK"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_WILDCARD = ("0.0.0.0", "::", "")
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
_HEADERS = [(b"content-security-policy", _CSP.encode()), (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def served_hosts(host: str, port: int, public_url: str | None = None) -> tuple[set[str], set[str]]:
    """(Host header values, Origin values) that name this app: host:port, its loopback aliases
    when it serves loopback (or every interface), and the public URL's host."""
    names = {host} if host not in _WILDCARD else set()
    if host in LOOPBACK or host.startswith("127.") or host in _WILDCARD:
        names |= set(LOOPBACK)
    hosts = {f"{_bracket(name)}:{port}" for name in names}
    origins = {f"http://{h}" for h in hosts}
    if public_url:
        url = urlsplit(public_url)
        scheme, name = url.scheme.lower() or "http", _bracket((url.hostname or "").lower())
        default = _DEFAULT_PORTS.get(scheme)
        netloc = f"{name}:{url.port or default}"
        hosts.add(netloc)
        origins.add(f"{scheme}://{netloc}")
        if (url.port or default) == default:  # browsers leave a default port out
            hosts.add(name)
            origins.add(f"{scheme}://{name}")
    return {h.lower() for h in hosts}, {o.lower() for o in origins}


class Access:
    """The checks of this module's doc, before `app` sees a request."""

    def __init__(self, app: ASGIApp, token: str, hosts: Iterable[str], origins: Iterable[str], port: int) -> None:
        self.app = app
        self.token = token
        self.hosts = frozenset(hosts)
        self.origins = frozenset(origins)
        self.cookie = f"phospho-token-{port}"  # per port: two apps on one host keep their own

    def _valid(self, candidate: str | None) -> bool:
        return bool(candidate) and secrets.compare_digest(candidate.encode(), self.token.encode())

    def _authorized(self, headers: Headers) -> bool:
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self._valid(credentials.strip()):
            return True
        return self._valid(cookie_parser(headers.get("cookie", "")).get(self.cookie))

    def _refusal(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        path = scope.get("path", "")
        if headers.get("host", "").lower() not in self.hosts:
            return _deny(path, 403, "this address is not the one the app serves (Host header refused)")
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.origins:
            return _deny(path, 403, "cross-origin requests are refused")
        if path == "/" and "token" in (query := parse_qs(scope.get("query_string", b"").decode("latin-1"))):
            if not self._valid(query["token"][0]):
                return _deny(path, 401, "wrong token: open the URL `phospho-stream` printed")
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(self.cookie, self.token, httponly=True, samesite="strict", path="/")
            return response
        if not self._authorized(headers):
            return _deny(path, 401, "a token is needed: open the URL `phospho-stream` printed "
                         "(it carries the token once), or send `Authorization: Bearer <token from up.json>`")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-cache"))
                message["headers"] = [*headers, *_HEADERS]
            await send(message)

        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
        else:
            await self.app(scope, receive, send_with_headers)


def _deny(path: str, status: int, message: str) -> Response:
    extra = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if path.startswith("/api/"):
        return JSONResponse({"error": message, "kind": "access"}, status, extra)
    return PlainTextResponse(f"{status}: {message}\n", status, extra)
