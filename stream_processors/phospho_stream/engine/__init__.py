"""The stages without faust: decoding, rules applied per partition, durable state, output."""
