"""Run a service app in-process against real NATS and PostgreSQL, for integration tests.

The app's own lifespan runs (migrations, pool, outbox relay, consumers), and an httpx client
talks to it through ASGI. Several services can run side by side in one test: give them the
same ``namespace`` and ``database_url`` (each keeps its own schema).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from ..auth import AuthSettings, Principal, Role, issue_token
from ..settings import ServiceSettings, load_settings

__all__ = ["bearer", "person", "running_service", "service_settings"]


def service_settings(
    service: str, *, nats_url: str, database_url: str, namespace: str,
    dev_clock_file: str | Path | None = None, calendar_dir: str | Path | None = None, **overrides: Any,
) -> ServiceSettings:
    """Test settings: the environment is ignored so a developer's shell cannot leak in."""
    return load_settings(
        service, environ={}, nats_url=nats_url, database_url=database_url, namespace=namespace,
        env="test", clock="dev", dev_clock_file=str(dev_clock_file) if dev_clock_file else None,
        calendar_dir=str(calendar_dir) if calendar_dir else None, log_format="json",
        outbox_poll_seconds=0.05, **overrides,
    )


@asynccontextmanager
async def running_service(create_app: Callable[..., FastAPI], settings: ServiceSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings=settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{settings.service}.test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


def person(name: str, *roles: Role | str, credit_code: str | None = None, linked: Iterable[str] = ()) -> Principal:
    return Principal(
        subject=f"u-{name.lower().replace(' ', '-')}", name=name,
        roles=frozenset(Role(r) for r in roles), credit_code=credit_code,
        linked_credit_codes=frozenset(linked),
    )


def bearer(principal: Principal, settings: AuthSettings | None = None) -> dict[str, str]:
    """Authorization header for ``principal`` signed with the (dev) auth settings."""
    return {"Authorization": f"Bearer {issue_token(principal, settings or AuthSettings())}"}
