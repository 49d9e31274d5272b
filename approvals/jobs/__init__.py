"""Background work: relay outbox rows to a queue and run them."""
