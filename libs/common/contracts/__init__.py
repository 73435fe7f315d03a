"""Message contracts between services: the only shapes that cross NATS."""
