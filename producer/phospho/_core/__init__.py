"""The SDK's ground: queue, settings, conversion, extraction, counters, ids, errors (imports nothing of the SDK above it)."""
