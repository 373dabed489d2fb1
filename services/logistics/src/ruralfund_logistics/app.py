"""The logistics service process: the three-tier station network, station volumes, the county
center's coverage, parcel scans with the 24-hour promise and its breach sweep, on the common
bootstrap (health, auth, problem+json, outbox relay, inbox consumers)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from ruralfund_common.bootstrap import ServiceContext, build_service_app
from ruralfund_common.settings import ServiceSettings

from .domain.refusals import TITLES_ZH
from .entrypoints.api import router
from .entrypoints.parcels_api import SWEEPER_KEY
from .entrypoints.parcels_api import router as parcels_router
from .entrypoints.prices_api import router as prices_router
from .entrypoints.sla_sweeper import SlaSweeper
from .entrypoints.subscribers import events
from .settings import LogisticsSettings

__all__ = ["MIGRATIONS_DIR", "create_app"]

MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"


def create_app(
    settings: ServiceSettings | None = None, logistics_settings: LogisticsSettings | None = None
) -> FastAPI:
    own = logistics_settings or LogisticsSettings.from_env()

    async def on_start(ctx: ServiceContext) -> None:
        sweeper = SlaSweeper(ctx, own)
        ctx.extras[SWEEPER_KEY] = sweeper
        await sweeper.start()

    async def on_stop(ctx: ServiceContext) -> None:
        sweeper: SlaSweeper | None = ctx.extras.pop(SWEEPER_KEY, None)
        if sweeper is not None:
            await sweeper.stop()

    return build_service_app(
        service="logistics",
        title="ruralfund logistics",
        titles_zh=TITLES_ZH,
        description=(
            "County-town-village logistics (县镇村三级物流): the station registry, stations' monthly "
            "transaction volumes with their Xinping award tier, the county logistics center's "
            "carriers and retail partnerships against its targets, parcel scans with the "
            "24-hour county-to-village promise (breaches reported once, on-time rates), and "
            "carriers' published price ranges (区间价) against the price target."
        ),
        events=events,
        routers=[router, parcels_router, prices_router],
        migrations_dir=MIGRATIONS_DIR,
        settings=settings,
        on_start=on_start,
        on_stop=on_stop,
    )
