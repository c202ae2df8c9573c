"""The read side: `query`, `insights`, the dashboard and the read app that serves it.

The read app is one Starlette app (dashboard and query endpoint) that `up` and `dashboard`
serve. This package never imports `up`: `up` imports it."""

from .app import build_app
from .endpoint import (
    UP_FILE,
    EndpointClient,
    RunningUp,
    find_running_up,
    remove_up_file,
    write_up_file,
)
from .insights import INSIGHTS, insight_results, render_insights, run_insights
from .query import FORMATS, render, run_query
from .reader import Reader, limits_of, store_reader
from .server import ReadServer, http_url, serve
from .source import ReadSource, open_source, open_store

__all__ = [
    "FORMATS", "INSIGHTS", "UP_FILE", "EndpointClient", "ReadServer", "ReadSource", "Reader", "RunningUp",
    "build_app", "find_running_up", "http_url", "insight_results", "limits_of", "open_source", "open_store", "remove_up_file",
    "render", "render_insights", "run_insights", "run_query", "serve", "store_reader", "write_up_file",
]
