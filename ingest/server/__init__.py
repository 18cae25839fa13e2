"""flowledger serve: the HTTP receiver (CloudEvents, run records, OTLP traces) with a durable spool."""
