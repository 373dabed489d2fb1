"""Bootstrap of the funds service: the joint-account ledger (共管账户)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from ruralfund_common.bootstrap import ServiceContext, build_service_app
from ruralfund_common.settings import ServiceSettings

from .entrypoints.api import TITLES_ZH, router
from .entrypoints.checkpoints import start_ledger_tree, stop_ledger_tree
from .entrypoints.ledger_api import ledger_router
from .entrypoints.lists_api import lists_router
from .entrypoints.metrics import start_ledger_metrics, stop_ledger_metrics
from .entrypoints.subscribers import events

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_service_app(
        service="funds",
        title="ruralfund funds",
        titles_zh=TITLES_ZH,
        description="Double-entry ledger of each program's central fund and joint account (共管账户): "
        "release (预拨), reservation, publicity window, dual approval, payment.",
        events=events,
        routers=[router, ledger_router, lists_router],
        migrations_dir=MIGRATIONS,
        settings=settings,
        on_start=_start,
        on_stop=_stop,
    )


async def _start(ctx: ServiceContext) -> None:
    await start_ledger_tree(ctx)
    await start_ledger_metrics(ctx)


async def _stop(ctx: ServiceContext) -> None:
    await stop_ledger_metrics(ctx)
    await stop_ledger_tree(ctx)
