"""Pure rules of the stages: no I/O, no faust (sessions, joins, analytics)."""
