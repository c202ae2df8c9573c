"""The dashboard: a web page over the analysts' views, as routes of the read app.

Tasks, transcripts with their steps, sessions, users, events, insights, CSV exports; served by
`phospho-stream up` and `phospho-stream dashboard` (read/run.py)."""

from .server import STATIC_DIR, dashboard_routes

__all__ = ["STATIC_DIR", "dashboard_routes"]
