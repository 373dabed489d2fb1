"""The logistics service process: the three-tier station network, station volumes and the
county center's coverage, on the common bootstrap (health, auth, problem+json, outbox relay)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from ruralfund_common.bootstrap import build_service_app
from ruralfund_common.settings import ServiceSettings

from .entrypoints.api import router
from .entrypoints.subscribers import events

__all__ = ["MIGRATIONS_DIR", "create_app"]

MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_service_app(
        service="logistics",
        title="ruralfund logistics",
        description=(
            "County-town-village logistics (县镇村三级物流): the station registry, stations' monthly "
            "transaction volumes with their Xinping award tier, and the county logistics center's "
            "carriers and retail partnerships against its targets."
        ),
        events=events,
        routers=[router],
        migrations_dir=MIGRATIONS_DIR,
        settings=settings,
    )
