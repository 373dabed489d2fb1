"""Test support: real NATS JetStream and PostgreSQL for tests (env -> testcontainers -> embedded)."""
