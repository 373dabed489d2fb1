"""The claims service: programs as data, enterprises, claims and their award rules, service
contracts, performance targets, milestones and evidence files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from ruralfund_common.bootstrap import DEFAULT_MAX_BODY_BYTES, ServiceContext, build_service_app
from ruralfund_common.settings import ServiceSettings

from .domain.refusals import TITLES_ZH
from .entrypoints import (
    api,
    contracts_api,
    files_api,
    milestones_api,
    packages_api,
    programs_list_api,
    reports_api,
)
from .entrypoints.milestone_checker import CHECKER_KEY, MilestoneChecker
from .entrypoints.subscribers import events
from .settings import SETTINGS_KEY, ClaimsSettings

MULTIPART_MARGIN_BYTES = 64 * 1024  # the form's boundaries and headers around a file

__all__ = ["MIGRATIONS_DIR", "create_app"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_app(
    settings: ServiceSettings | None = None, claims_settings: ClaimsSettings | None = None
) -> FastAPI:
    own = claims_settings or ClaimsSettings.from_env()

    async def on_start(ctx: ServiceContext) -> None:
        ctx.extras[SETTINGS_KEY] = own
        checker = MilestoneChecker(ctx, own)
        ctx.extras[CHECKER_KEY] = checker
        await checker.start()

    async def on_stop(ctx: ServiceContext) -> None:
        checker: MilestoneChecker | None = ctx.extras.pop(CHECKER_KEY, None)
        if checker is not None:
            await checker.stop()

    return build_service_app(
        service="claims",
        title="ruralfund claims",
        titles_zh=TITLES_ZH,
        description=(
            "Programs (示范项目) as data with their budget and share checks, enterprises "
            "(统一社会信用代码), claims under reward items (以奖代补): rule-computed awards, bureau "
            "review, leading group decision, then funds' reservation, publicity and payment; "
            "purchase-of-service contracts (购买服务) with deliverables and acceptance, performance "
            "targets (绩效目标) with actual values, milestones (实施计划) with overdue notices."
        ),
        events=events,
        routers=[
            api.router,
            contracts_api.router,
            packages_api.router,
            milestones_api.router,
            files_api.router,
            reports_api.router,
            programs_list_api.router,
        ],
        migrations_dir=MIGRATIONS_DIR,
        settings=settings,
        on_start=on_start,
        on_stop=on_stop,
        # an evidence file streams in (files_api refuses it past its own limit with
        # EVIDENCE_FILE_TOO_LARGE); the app-wide limit must not cut it short
        max_body_bytes=max(DEFAULT_MAX_BODY_BYTES, own.evidence_max_file_bytes + MULTIPART_MARGIN_BYTES),
    )
