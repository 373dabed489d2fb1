"""Adapters to the outside: PostgreSQL (repository)."""
