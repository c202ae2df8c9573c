"""The OpenTelemetry instrumentations for LLMs found as `opentelemetry_instrumentor` entry
points: the installed openai one is found and recognised as a GenAI one."""

from __future__ import annotations


def test_the_installed_openai_instrumentation_is_found_as_an_entry_point():
    from phospho._tracing.discover import GROUP, discover, is_genai

    found = {ep.name: ep for ep in discover()}
    assert found["openai"].value == "opentelemetry.instrumentation.openai:OpenAIInstrumentor"
    assert found["openai"].group == GROUP and is_genai(found["openai"])
    assert found["openai"].dist.metadata["Name"] == "opentelemetry-instrumentation-openai"
