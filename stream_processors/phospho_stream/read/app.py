"""The read app: one Starlette app for the dashboard and the query endpoint, behind Access."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import ASGIApp

from .access import Access, served_hosts
from .dashboard.server import dashboard_routes
from .endpoint import query_route
from .reader import Reader

__all__ = ["build_app"]


def build_app(read: Reader, token: str, host: str, port: int, public_url: str | None = None) -> ASGIApp:
    """The app serving `read` at host:port (the bound port: Host and Origin are checked against it)."""
    app = Starlette(routes=[query_route(read), *dashboard_routes(read)])
    hosts, origins = served_hosts(host, port, public_url)
    return Access(app, token, hosts, origins, port)
