"""A minimal in-process Confluent Schema Registry, for the tests of the Confluent wire format.

Why it exists: the SDK's registry path (PHOSPHO_SCHEMA_REGISTRY_URL) and phospho_schemas'
EventDecoder talk to a Confluent Schema Registry over its REST API, but no Schema Registry
(a JVM service) can be installed on the test machine, and confluent-kafka's
MockSchemaRegistryClient would bypass exactly the HTTP path that the SDK uses (it is only picked
for `mock://` URLs and cannot be shared with a child process). So this module serves, over real
HTTP on 127.0.0.1, the subset of the REST API that confluent-kafka's SchemaRegistryClient,
AvroSerializer and AvroDeserializer call (read from
confluent_kafka/schema_registry/_sync/schema_registry_client.py):

    POST /subjects/{subject}/versions     register -> {"id": N}  (same schema, same id, any subject)
    POST /subjects/{subject}              look a schema up under a subject -> {subject, id, version, schema}
    GET  /schemas/ids/{id}                -> {"schema": "..."} (+ schemaType when not AVRO)
    GET  /schemas/ids/{id}/subjects       -> ["subject", ...]
    GET  /schemas/ids/{id}/versions       -> [{"subject": ..., "version": ...}]
    GET  /schemas/types                   -> ["AVRO"]
    GET  /subjects                        -> ["subject", ...]
    GET  /subjects/{subject}/versions     -> [1, 2, ...]
    GET  /subjects/{subject}/versions/{v} -> {subject, id, version, schema}   (v may be "latest")
    GET  /config, GET /config/{subject}   -> {"compatibilityLevel": "BACKWARD"}
    GET  /associations/resources/{namespace}/{topic} -> [] (no associations: the client's
                                          subject name strategy then falls back to <topic>-value)

Errors use the registry's JSON shape: {"error_code": 40401, "message": "..."} with the HTTP
status (404 subject/version/schema not found, 422 invalid schema). Avro schemas are checked
with fastavro, as the real registry would reject an unparsable schema. Every request is
recorded in `requests` as (method, path) for assertions.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["SchemaRegistryServer"]

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class _Error(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class SchemaRegistryServer:
    """`with SchemaRegistryServer() as registry: registry.url` -> 'http://127.0.0.1:<port>'."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._schemas: list[dict[str, Any]] = []  # index = id - 1: {"schema", "schemaType", "references"}
        self._ids_by_key: dict[str, int] = {}
        self._subjects: dict[str, list[int]] = {}  # subject -> schema id of each version (1-based)
        self.requests: list[tuple[str, str]] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                with registry._lock:
                    registry.requests.append((method, url.path))
                try:
                    body = json.loads(raw) if raw else None
                    status, payload = registry._route(method, url.path, body)
                except _Error as err:
                    status, payload = err.status, {"error_code": err.code, "message": err.message}
                except (ValueError, KeyError, TypeError) as exc:
                    status, payload = 422, {"error_code": 42201, "message": f"invalid request: {exc}"}
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", _CONTENT_TYPE)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

            def do_PUT(self) -> None:  # noqa: N802
                self._handle("PUT")

            def do_DELETE(self) -> None:  # noqa: N802
                self._handle("DELETE")

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SchemaRegistryServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="schema-registry", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> SchemaRegistryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state, for assertions ---------------------------------------------------------------
    def subjects(self) -> dict[str, list[int]]:
        with self._lock:
            return {s: list(ids) for s, ids in self._subjects.items()}

    def schema(self, schema_id: int) -> str:
        with self._lock:
            return self._schemas[schema_id - 1]["schema"]

    # -- REST API ----------------------------------------------------------------------------
    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        with self._lock:
            if method == "POST" and len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
                return 200, self._register(parts[1], body)
            if method == "POST" and len(parts) == 2 and parts[0] == "subjects":
                return 200, self._lookup(parts[1], body)
            if method == "GET" and parts == ["schemas", "types"]:
                return 200, ["AVRO"]
            if method == "GET" and len(parts) >= 3 and parts[:2] == ["schemas", "ids"]:
                schema_id = self._schema_id(parts[2])
                if len(parts) == 3:
                    stored = self._schemas[schema_id - 1]
                    out: dict[str, Any] = {"schema": stored["schema"]}
                    if stored["schemaType"] != "AVRO":
                        out["schemaType"] = stored["schemaType"]
                    if stored["references"]:
                        out["references"] = stored["references"]
                    return 200, out
                if parts[3:] == ["subjects"]:
                    return 200, [s for s, ids in self._subjects.items() if schema_id in ids]
                if parts[3:] == ["versions"]:
                    return 200, [{"subject": s, "version": v + 1}
                                 for s, ids in self._subjects.items() for v, i in enumerate(ids) if i == schema_id]
            if method == "GET" and parts == ["subjects"]:
                return 200, sorted(self._subjects)
            if method == "GET" and len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
                return 200, list(range(1, len(self._versions(parts[1])) + 1))
            if method == "GET" and len(parts) == 4 and parts[0] == "subjects" and parts[2] == "versions":
                return 200, self._version(parts[1], parts[3])
            if method == "GET" and len(parts) == 4 and parts[:2] == ["associations", "resources"]:
                return 200, []
            if method == "GET" and parts and parts[0] == "config" and len(parts) <= 2:
                return 200, {"compatibilityLevel": "BACKWARD"}
        raise _Error(404, 404, f"HTTP 404 Not Found: {method} {path}")

    @staticmethod
    def _key(schema_str: str, schema_type: str) -> str:
        try:
            canonical = json.dumps(json.loads(schema_str), sort_keys=True, separators=(",", ":"))
        except ValueError:
            canonical = schema_str
        return f"{schema_type}:{canonical}"

    def _check(self, body: Any) -> tuple[str, str, list[Any]]:
        if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
            raise _Error(422, 42201, "Either the input schema or one its references is invalid")
        schema_type = body.get("schemaType") or "AVRO"
        if schema_type == "AVRO":
            from fastavro import parse_schema

            try:
                parse_schema(json.loads(body["schema"]))
            except Exception as exc:
                raise _Error(422, 42201, f"Invalid schema: {exc}") from None
        return body["schema"], schema_type, body.get("references") or []

    def _register(self, subject: str, body: Any) -> dict[str, Any]:
        schema_str, schema_type, references = self._check(body)
        key = self._key(schema_str, schema_type)
        schema_id = self._ids_by_key.get(key)
        if schema_id is None:
            self._schemas.append({"schema": schema_str, "schemaType": schema_type, "references": references})
            schema_id = self._ids_by_key[key] = len(self._schemas)
        versions = self._subjects.setdefault(subject, [])
        if schema_id not in versions:
            versions.append(schema_id)
        return {"id": schema_id}

    def _lookup(self, subject: str, body: Any) -> dict[str, Any]:
        schema_str, schema_type, _ = self._check(body)
        versions = self._versions(subject)
        schema_id = self._ids_by_key.get(self._key(schema_str, schema_type))
        if schema_id is None or schema_id not in versions:
            raise _Error(404, 40403, "Schema not found")
        return self._describe(subject, versions.index(schema_id) + 1, schema_id)

    def _versions(self, subject: str) -> list[int]:
        try:
            return self._subjects[subject]
        except KeyError:
            raise _Error(404, 40401, f"Subject '{subject}' not found.") from None

    def _version(self, subject: str, version: str) -> dict[str, Any]:
        versions = self._versions(subject)
        number = len(versions) if version in ("latest", "-1") else int(version)
        if not 1 <= number <= len(versions):
            raise _Error(404, 40402, f"Version {version} not found.")
        return self._describe(subject, number, versions[number - 1])

    def _describe(self, subject: str, version: int, schema_id: int) -> dict[str, Any]:
        stored = self._schemas[schema_id - 1]
        out = {"subject": subject, "version": version, "id": schema_id, "schema": stored["schema"]}
        if stored["schemaType"] != "AVRO":
            out["schemaType"] = stored["schemaType"]
        return out

    def _schema_id(self, text: str) -> int:
        try:
            schema_id = int(text)
        except ValueError:
            raise _Error(404, 40403, f"Schema {text} not found") from None
        if not 1 <= schema_id <= len(self._schemas):
            raise _Error(404, 40403, f"Schema {schema_id} not found")
        return schema_id
