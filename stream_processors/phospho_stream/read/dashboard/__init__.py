"""The dashboard: a web page over the analysts' views (tasks, transcripts with their steps,
sessions, users, insights), routes of the read app served by `phospho-stream up` and
`phospho-stream dashboard` (read/run.py)."""

from .server import STATIC_DIR, dashboard_routes

__all__ = ["STATIC_DIR", "dashboard_routes"]
