"""The claims service: programs as data, enterprises, claims and their award rules."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from ruralfund_common.bootstrap import build_service_app
from ruralfund_common.settings import ServiceSettings

from .entrypoints import api, contracts_api
from .entrypoints.subscribers import events

__all__ = ["MIGRATIONS_DIR", "create_app"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_service_app(
        service="claims",
        title="ruralfund claims",
        description=(
            "Programs (示范项目) as data with their budget check, enterprises (统一社会信用代码), "
            "and claims under reward items (以奖代补): rule-computed awards, bureau review, "
            "leading group decision, then funds' reservation, publicity and payment."
        ),
        events=events,
        routers=[api.router, contracts_api.router],
        migrations_dir=MIGRATIONS_DIR,
        settings=settings,
    )
