"""The dashboard: a web page over the analysts' views (tasks, transcripts with their steps,
sessions, users, insights), served by `phospho-stream up` and `phospho-stream dashboard`."""

from .run import dashboard_url, run_dashboard, start_dashboard
from .server import build_server, remote_reader, store_reader

__all__ = ["build_server", "dashboard_url", "remote_reader", "run_dashboard", "start_dashboard", "store_reader"]
