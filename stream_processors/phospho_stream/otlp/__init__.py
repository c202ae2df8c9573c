"""The OTLP/HTTP receiver: OpenTelemetry traces from any language become phospho's span events,
and each trace with a GenAI span one task, produced to Kafka through the SDK's own pipeline.

app.py (the HTTP endpoint) reads a body (body.py), decodes it (decode.py) into spans (spans.py);
ingest.py groups them by trace, whose task traces.py and tasks.py decide, and hands both to a
`phospho.Forwarder`. server.py runs it all (in `up`, or alone through run.py).
"""

from .app import TRACES_PATH, build_app
from .run import run_otlp
from .server import OtlpError, OtlpReceiver, start_receiver

__all__ = ["TRACES_PATH", "OtlpError", "OtlpReceiver", "build_app", "run_otlp", "start_receiver"]
