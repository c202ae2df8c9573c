"""`import phospho` loads none of the heavy libraries: Kafka and Avro come with init(), OpenTelemetry
with init(tracing=True), and no pydantic at all (an app pays `import phospho` at start-up)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("confluent_kafka", "fastavro", "phospho_schemas", "pydantic", "pydantic_settings", "opentelemetry")


def loaded_after(code: str) -> list[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_import_phospho_loads_no_heavy_library() -> None:
    assert loaded_after("import phospho") == []


def test_init_loads_kafka_and_avro_but_not_pydantic_nor_opentelemetry(tmp_path) -> None:
    code = f"import phospho\nphospho.init(project_id='p', bootstrap_servers='127.0.0.1:1', spool_dir={str(tmp_path)!r}, exit_timeout=0)"
    assert loaded_after(code) == ["confluent_kafka", "fastavro", "phospho_schemas"]
