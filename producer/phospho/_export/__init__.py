"""The export pipeline: a batch processor thread hands encoded events to an Exporter (Kafka by default)."""
