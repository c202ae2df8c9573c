"""Pure functions of the pipeline: no I/O, no faust."""
