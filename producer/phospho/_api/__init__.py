"""What the app calls, in the app's threads: init, log, wrap, user_feedback, streams, tracer blocks."""
