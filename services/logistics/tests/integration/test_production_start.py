"""A production start without event keys is refused before the database is touched."""

from __future__ import annotations

import asyncpg
import pytest
from ruralfund_common.messaging.signing import EventKeyError
from ruralfund_common.testing.services import service_settings
from ruralfund_logistics.app import create_app

pytestmark = pytest.mark.integration


async def test_production_without_event_keys_fails_before_migrating(nats_url, database_url, namespace):
    settings = service_settings("logistics", nats_url=nats_url, database_url=database_url, namespace=namespace)
    app = create_app(settings=settings.model_copy(update={"env": "production", "clock": "system"}))  # no event keys
    with pytest.raises(EventKeyError, match="production"):
        async with app.router.lifespan_context(app):
            pass  # pragma: no cover - the start must fail
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'logistics'")
    finally:
        await conn.close()
    assert tables == 0, "migrations ran although the start was refused"
