"""Everything on one machine: the embedded broker, `up`, the demo traffic."""
