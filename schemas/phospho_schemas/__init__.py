"""The wire contract of the phospho pipeline: Avro schemas, topic names, both encodings.

Importing this package does not import pydantic; `phospho_schemas.models` holds the pydantic
models of the same records.
"""

from ._errors import DecodeError, SchemaError, UnknownSchemaError
from .catalog import EVENT_KINDS, parsed_schema, raw_schema, schema_fingerprint
from .reader import EventDecoder
from .single_object import MAGIC, SingleObjectSerializer
from .topics import DEFAULT_TOPIC_PREFIX, Topics

__all__ = [
    "DEFAULT_TOPIC_PREFIX",
    "EVENT_KINDS",
    "MAGIC",
    "DecodeError",
    "EventDecoder",
    "SchemaError",
    "SingleObjectSerializer",
    "Topics",
    "UnknownSchemaError",
    "parsed_schema",
    "raw_schema",
    "schema_fingerprint",
]
