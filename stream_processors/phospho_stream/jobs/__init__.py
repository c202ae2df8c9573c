"""Batch jobs over the store and the pipeline: reanalyze (and topics, delete-user, export)."""
