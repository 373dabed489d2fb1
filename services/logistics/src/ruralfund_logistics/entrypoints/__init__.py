"""Entrypoints: HTTP (api) and events (subscribers)."""
