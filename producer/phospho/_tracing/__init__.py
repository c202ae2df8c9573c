"""OpenTelemetry tracing, used only with init(tracing=True): span processor, span-to-task links, instrumentations."""
