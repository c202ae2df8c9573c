"""How phospho reads the OpenTelemetry GenAI attributes of a span: its typed fields (operation,
provider, models, tokens, cached tokens, texts) and its chat messages. Public so that the OTLP
receiver reads received spans exactly as the SDK reads the spans it traces."""

from __future__ import annotations

from ._export.genai import genai_fields, genai_messages, messages_text, to_int

__all__ = ["genai_fields", "genai_messages", "messages_text", "to_int"]
