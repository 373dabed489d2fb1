"""Objection use cases: the public form (rate limit, signed token, window), the admin outcome."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import asyncpg
from ruralfund_common.auth import Principal
from ruralfund_common.contracts.notify.objection_filed import ObjectionFiled
from ruralfund_common.contracts.notify.objection_resolved import ObjectionResolved
from ruralfund_common.errors import NotFound
from ruralfund_common.ids import new_id
from ruralfund_common.logging import get_logger
from ruralfund_common.messaging import Tx
from ruralfund_common.recusal import require_no_conflict_of_interest

from ..adapters import objections_repo as orepo
from ..adapters import repository as repo
from ..domain.emails import EmailTemplate
from ..domain.form_tokens import FormToken, FormTokenInvalid, issue_form_token, verify_form_token
from ..domain.masking import public_awardee_name, redact_text
from ..domain.notices import Notice, Revocation
from ..domain.objections import (
    Objection,
    ObjectionOutcome,
    ObjectionStatus,
    PublicRefusal,
    check_objection_window,
    parse_objection_form,
)
from ..domain.rate_limit import FixedWindow, client_address, rate_key
from ..domain.rendering import (
    ObjectionAwardRevokedMail,
    ObjectionReceivedMail,
    ObjectionResolvedMail,
    render_objection_award_revoked,
    render_objection_received,
    render_objection_resolved,
)

if TYPE_CHECKING:
    from .core import NotifyService

__all__ = ["FiledObjection", "FormRefused", "ObjectionDesk", "RateLimited"]

NONCE_BYTES: Final = 18  # 144 bits: never guessed, never repeated
log = get_logger("ruralfund.notify.objections")


class FormRefused(PublicRefusal):
    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(
            "FORM_TOKEN_INVALID",
            f"the objection form's token is not valid ({reason}); reload the notice page",
            "表单已失效（页面打开时间过长，或不是从本网站的公示页面提交的）。"
            "请返回公示页面，刷新后重新填写提交。",
        )


class RateLimited(PublicRefusal):
    status = 429

    def __init__(self, retry_after_s: int) -> None:
        minutes = max(1, (retry_after_s + 59) // 60)
        super().__init__(
            "RATE_LIMITED",
            f"too many objection posts from this address; retry in {retry_after_s} s",
            f"提交过于频繁，请约 {minutes} 分钟后再试。如需提交多项异议，可在一份异议中一并写明。",
        )
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class FiledObjection:
    objection: Objection
    notice: repo.NoticeRow
    replayed: bool  # the same form was posted again: this is the objection it filed


@dataclass(frozen=True)
class ObjectionDesk:
    core: NotifyService

    # -- the public form ----------------------------------------------------------------------
    def form_token(self, notice_id: str, now_s: int) -> str:
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        return issue_form_token(self.core.settings.form_secret_bytes, notice_id, now_s, nonce)

    def client_of(self, peer: str, forwarded_for: str | None) -> str:
        return client_address(peer, forwarded_for, self.core.settings.trusted_proxy_networks)

    async def admit(self, pool: asyncpg.Pool, client_ip: str, now_s: float) -> None:
        """Count this post against the client's window; raises RateLimited beyond the limit."""
        s = self.core.settings
        window = FixedWindow(s.objection_rate_limit, s.objection_rate_window_seconds)
        async with pool.acquire() as conn:
            hits = await orepo.count_hit(
                conn, rate_key(client_ip), window.window_start(now_s), window.window_seconds
            )
        if not window.allows(hits):
            log.warning("objection_rate_limited", client=rate_key(client_ip), hits=hits)
            raise RateLimited(window.retry_after(now_s))

    async def file(
        self, tx: Tx, notice_id: str, fields: Mapping[str, str], client_ip: str, now_s: int
    ) -> FiledObjection:
        """Token → notice → window → fields, in that order: a forged post learns nothing, and
        a late objector is told the window closed before being asked to fix a field."""
        token = self._verified(fields.get("form_token", ""), notice_id, now_s)
        row = await self._public_notice(tx.conn, notice_id)
        existing = await orepo.objection_by_nonce(tx.conn, token.nonce)
        if existing is not None:
            return FiledObjection(existing, row, replayed=True)
        office = self.core.settings.objection_office
        check_objection_window(row.notice, row.revocation, tx.clock.now(), office)
        form = parse_objection_form(
            fields.get("name", ""),
            fields.get("contact", ""),
            fields.get("email", ""),
            fields.get("reason", ""),
        )
        objection = Objection.file(
            id=new_id(),
            notice=row.notice,
            form=form,
            client_ip=client_ip,
            form_nonce=token.nonce,
            at=tx.clock.now(),
        )
        if not await orepo.insert_objection(tx.conn, objection):
            # The same form posted twice at once: the other post filed it first.
            first = await orepo.objection_by_nonce(tx.conn, token.nonce)
            assert first is not None
            return FiledObjection(first, row, replayed=True)
        await self._announce(tx, objection, row)
        return FiledObjection(objection, row, replayed=False)

    def _verified(self, token: str, notice_id: str, now_s: int) -> FormToken:
        s = self.core.settings
        try:
            return verify_form_token(
                s.form_secret_bytes,
                token,
                notice_id=notice_id,
                now_s=now_s,
                max_age_s=s.form_token_max_age_seconds,
            )
        except FormTokenInvalid as exc:
            log.warning("objection_form_refused", notice_id=notice_id, problem=exc.problem.value)
            raise FormRefused(exc.problem.value) from None

    async def _public_notice(self, conn: asyncpg.Connection, notice_id: str) -> repo.NoticeRow:
        rows = await repo.public_notices(conn, limit=1, notice_id=notice_id)
        if not rows:
            raise NotFound("NOTICE_NOT_FOUND", f"no published notice {notice_id}",
                detail_zh=f"没有编号为 {notice_id} 的已发布公示。")
        return rows[0]

    async def _announce(self, tx: Tx, o: Objection, row: repo.NoticeRow) -> None:
        """ObjectionFiled out (funds holds the award), and the objector's receipt by mail."""
        envelope = await self.core.emit(
            tx,
            ObjectionFiled(
                objection_id=o.id,
                notice_id=o.notice_id,
                award_id=o.award_id,
                claim_id=o.claim_id,
                program_code=o.program_code,
                filed_at=o.filed_at,
            ),
            aggregate_id=o.id,
        )
        log.info("objection_filed", objection_id=o.id, notice_id=o.notice_id, award_id=o.award_id)
        if o.email is None:
            return
        n = row.notice
        mail = ObjectionReceivedMail(
            objector_name=o.name,
            objection_id=o.id,
            notice_no=_number(n),
            program_name=redact_text(row.program_name or n.program_code),
            item_name=redact_text(n.item_name),
            awardee=public_awardee_name(n.awardee_name, n.credit_code),
            amount_fen=n.amount_fen,
            filed_at=o.filed_at,
            url=self.core.url_of(n.id),
            phone=self.core.settings.objection_phone,
        )
        await self.core.queue_to(
            tx,
            envelope["id"],
            EmailTemplate.OBJECTION_RECEIVED,
            (o.email, o.name),
            render_objection_received(mail, self.core.sender),
            missing_hint="the objector gave no usable address",
        )

    # -- admins -------------------------------------------------------------------------------
    async def resolve(
        self, tx: Tx, objection_id: str, outcome: ObjectionOutcome, reason: str, *, by: Principal
    ) -> Objection:
        """Record the outcome once and tell funds (upheld → it revokes the award). Whoever is
        the awardee or linked to it must recuse: dismissing lets its payment go out."""
        objection = await orepo.get_objection(tx.conn, objection_id, for_update=True)
        if objection is None:
            raise NotFound("OBJECTION_NOT_FOUND", f"no objection {objection_id}",
                           title_zh="未找到该异议", detail_zh=f"未找到异议 {objection_id}。")
        notice = await repo.get_notice(tx.conn, objection.notice_id)
        assert notice is not None, "an objection is filed against a notice notify holds"
        require_no_conflict_of_interest(by, notice.credit_code, decision_zh="处理针对该企业公示的异议")
        resolved = objection.resolve(outcome, reason, by=by.subject, at=tx.clock.now())
        await orepo.save_resolution(tx.conn, resolved)
        assert resolved.resolution_reason is not None and resolved.resolved_at is not None
        envelope = await self.core.emit(
            tx,
            ObjectionResolved(
                objection_id=resolved.id,
                notice_id=resolved.notice_id,
                award_id=resolved.award_id,
                claim_id=resolved.claim_id,
                program_code=resolved.program_code,
                outcome=outcome.value,
                reason=resolved.resolution_reason,
                resolved_by=by.subject,
                resolved_at=resolved.resolved_at,
            ),
            aggregate_id=resolved.id,
        )
        log.info("objection_resolved", objection_id=resolved.id, outcome=outcome.value)
        await self._tell_outcome(tx, envelope["id"], resolved)
        return resolved

    async def _tell_outcome(self, tx: Tx, event_id: str, o: Objection) -> None:
        """The objector who left an address learns the outcome (upheld or dismissed)."""
        if o.email is None:
            return
        notice = await repo.get_notice(tx.conn, o.notice_id)
        assert notice is not None and o.resolved_at is not None and o.resolution_reason is not None
        program_name, _ = await repo.names_for(tx.conn, notice.program_code, notice.item_code)
        mail = ObjectionResolvedMail(
            objector_name=o.name, objection_id=o.id, notice_no=_number(notice),
            program_name=redact_text(program_name or notice.program_code),
            item_name=redact_text(notice.item_name),
            awardee=public_awardee_name(notice.awardee_name, notice.credit_code),
            amount_fen=notice.amount_fen, filed_at=o.filed_at, resolved_at=o.resolved_at,
            upheld=o.status is ObjectionStatus.UPHELD, reason=redact_text(o.resolution_reason),
            url=self.core.url_of(notice.id),
        )
        await self.core.queue_to(
            tx, event_id, EmailTemplate.OBJECTION_RESOLVED, (o.email, o.name),
            render_objection_resolved(mail, self.core.sender),
            missing_hint="the objector gave no usable address",
        )

    async def tell_objectors_revoked(
        self, tx: Tx, event_id: str, notice: Notice, revocation: Revocation
    ) -> None:
        """Every objector of a revoked award who left an address is told it was revoked (one
        mail each, keyed by the revocation event and the objection: a redelivery adds none)."""
        program_name, _ = await repo.names_for(tx.conn, notice.program_code, notice.item_code)
        for o in await orepo.objections_for_award(tx.conn, notice.award_id):
            if o.email is None:
                continue
            mail = ObjectionAwardRevokedMail(
                objector_name=o.name, objection_id=o.id, notice_no=_number(notice),
                program_name=redact_text(program_name or notice.program_code),
                item_name=redact_text(notice.item_name),
                awardee=public_awardee_name(notice.awardee_name, notice.credit_code),
                amount_fen=notice.amount_fen, revoked_at=revocation.revoked_at,
                note=revocation.public_note, url=self.core.url_of(notice.id),
            )
            await self.core.queue_to(
                tx, f"{event_id}/{o.id}", EmailTemplate.OBJECTION_AWARD_REVOKED, (o.email, o.name),
                render_objection_award_revoked(mail, self.core.sender),
                missing_hint="the objector gave no usable address",
            )

    async def get(self, pool: asyncpg.Pool, objection_id: str) -> Objection:
        async with pool.acquire() as conn:
            objection = await orepo.get_objection(conn, objection_id)
        if objection is None:
            raise NotFound("OBJECTION_NOT_FOUND", f"no objection {objection_id}",
                           title_zh="未找到该异议", detail_zh=f"未找到异议 {objection_id}。")
        return objection

    async def notices_of(self, pool: asyncpg.Pool, notice_ids: set[str]) -> dict[str, Notice]:
        """The notices the objections are against, by id (what staff see beside each)."""
        out: dict[str, Notice] = {}
        async with pool.acquire() as conn:
            for notice_id in sorted(notice_ids):
                notice = await repo.get_notice(conn, notice_id)
                if notice is not None:
                    out[notice_id] = notice
        return out

    async def list(
        self,
        pool: asyncpg.Pool,
        *,
        limit: int,
        before_id: str | None,
        status: ObjectionStatus | None,
        notice_id: str | None,
    ) -> list[Objection]:
        async with pool.acquire() as conn:
            return await orepo.list_objections(
                conn, limit=limit, before_id=before_id, status=status, notice_id=notice_id
            )


def _number(notice: Notice) -> str:
    """The 公示编号 an objector quotes: only a published notice can be objected to, and every
    published notice has one."""
    assert notice.number is not None, f"notice {notice.id} was objected to but has no number"
    return notice.number
