"""The phospho worker exactly as `phospho-stream worker` builds it (phospho_stream.worker.build_app,
WorkerSettings.from_env), with ONE change: faust's producer_max_request_size raised to argv[1]
bytes. benchmarks/pipeline.py falls back to it when the stock worker's agent crashes on an output
message over faust's default 1,000,000 bytes (a batch of 2,000 tasks sends one JSON message of
~2,000 task rows). Used only to measure the rest of the worker; the crash is reported.

    PHOSPHO_KAFKA_BOOTSTRAP_SERVERS=... python _pipeline_worker.py MAX_REQUEST_BYTES
"""

import os
import sys

from phospho_stream.worker import WorkerSettings, build_app

app = build_app(WorkerSettings.from_env(os.environ["PHOSPHO_KAFKA_BOOTSTRAP_SERVERS"]))
app.conf.producer_max_request_size = int(sys.argv[1])
sys.argv = [sys.argv[0], "--quiet", "worker", "-l", "warn", "--without-web"]
app.main()
