"""Notify's use cases: each one loads, asks the domain, saves and emits in the caller's
transaction (a message handler's or an HTTP request's), so state, outbox and mail queue
commit together.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from email.errors import MessageError
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

import asyncpg
from ruralfund_common.bootstrap import ServiceContext
from ruralfund_common.calendar import (
    PUBLICITY_WORKING_DAYS,
    CalendarFileError,
    CalendarYearUnknown,
    PublicityWindow,
    WorkingCalendar,
    local_date,
)
from ruralfund_common.clock import Clock
from ruralfund_common.contracts import (
    AwardReserved,
    ClaimApproved,
    ClaimRejected,
    ClaimSubmitted,
    EnterpriseRegistered,
    PaymentExecuted,
    ProgramActivated,
    PublicityPublished,
    ReservationRefused,
)
from ruralfund_common.contracts.claims.claim_returned import ClaimReturned
from ruralfund_common.contracts.claims.contract_payment_due import ContractPaymentDue
from ruralfund_common.contracts.claims.enterprise_bank_account_changed import (
    EnterpriseBankAccountChanged,
)
from ruralfund_common.contracts.funds.award_revoked import AwardRevoked
from ruralfund_common.contracts.funds.contract_payment_executed import ContractPaymentRefused
from ruralfund_common.errors import DomainError, NotFound
from ruralfund_common.ids import new_id
from ruralfund_common.logging import get_logger
from ruralfund_common.messaging import Event, Tx

from ..adapters import repository as repo
from ..adapters.smtp import MailDeliveryError, OutgoingMessage, SmtpMailer, build_message
from ..domain.contacts import Contact, replaced_address
from ..domain.emails import (
    EmailErrorCode,
    EmailTemplate,
    OutgoingEmail,
    RenderedEmail,
    retry_delay_seconds,
    should_give_up,
)
from ..domain.notices import (
    TRANCHE_KIND_ZH,
    Notice,
    NoticeStatus,
    Revocation,
    notice_number,
    notice_url,
    parse_notice_number,
    revocation_of_refused_reservation,
)
from ..domain.open_data import PaidAward, PublicPaidAward
from ..domain.rendering import (
    ApprovalMail,
    BankAccountChangedMail,
    ClaimReceivedMail,
    ClaimReturnedMail,
    ContactChangedMail,
    PaymentMail,
    PublicityDates,
    RejectionMail,
    ReservationRefusedMail,
    Sender,
    render_bank_account_changed,
    render_claim_approved,
    render_claim_received,
    render_claim_rejected,
    render_claim_returned,
    render_contact_changed,
    render_payment_executed,
    render_reservation_refused,
)
from ..settings import NotifySettings

if TYPE_CHECKING:
    from .objections import ObjectionDesk
    from .reports import ReportDesk
    from .webhooks import WebhookDesk

__all__ = ["EXTRAS_KEY", "CalendarFileInvalid", "NotifyService", "notify_service"]

EXTRAS_KEY: Final = "notify.service"
# Rows per query of the open-data export: the response streams, memory stays flat.
EXPORT_CHUNK_ROWS: Final = 500
# A claimed mail is someone else's to retry only after this long: covers connect, STARTTLS,
# login and DATA, each bounded by the SMTP timeout.
LEASE_TIMEOUTS: Final = 4
LEASE_MARGIN_SECONDS: Final = 30.0
log = get_logger("ruralfund.notify")


class CalendarFileInvalid(DomainError):
    """A loaded year file is broken: no window can be computed until an admin fixes it."""

    status = 503

    def __init__(self, problem: CalendarFileError) -> None:
        super().__init__(
            "CALENDAR_FILE_INVALID", f"the working-day calendar cannot be read: {problem}",
            detail_zh="已载入的工作日历文件有误，暂时无法计算公示期；请由管理员修正日历文件后重试。",
        )


def notify_service(ctx: ServiceContext) -> NotifyService:
    return ctx.extras[EXTRAS_KEY]


@dataclass(frozen=True)
class NotifyService:
    settings: NotifySettings
    calendar: WorkingCalendar
    # What other systems may subscribe to: every event notify consumes or emits.
    webhook_event_types: frozenset[str] = frozenset()

    @property
    def objections(self) -> ObjectionDesk:
        from .objections import ObjectionDesk  # the desk uses this class: import when asked

        return ObjectionDesk(self)

    @property
    def webhooks(self) -> WebhookDesk:
        from .webhooks import WebhookDesk

        return WebhookDesk(self)

    @property
    def reports(self) -> ReportDesk:
        from .reports import ReportDesk

        return ReportDesk(self)

    @property
    def sender(self) -> Sender:
        return Sender(
            office=self.settings.objection_office, portal_name=self.settings.county_portal_name
        )

    def url_of(self, notice_id: str) -> str:
        return notice_url(self.settings.public_base_url, notice_id)

    # -- reference data ---------------------------------------------------------------------
    async def register_contact(
        self, tx: Tx, e: EnterpriseRegistered, event_id: str | None = None
    ) -> None:
        contact = Contact(
            credit_code=e.credit_code,
            name=e.name,
            kind=e.kind,
            county_code=e.county_code,
            contact_name=e.contact_name,
            contact_email=e.contact_email,
            contact_phone=e.contact_phone,
        )
        await repo.lock_contact(tx.conn, contact.credit_code)
        before = await repo.get_contact(tx.conn, contact.credit_code)
        await repo.upsert_contact(tx.conn, contact)
        old_address = replaced_address(before, contact)
        if old_address is not None and before is not None and event_id is not None:
            await self._warn_contact_replaced(tx, event_id, before, contact, old_address)
        if contact.deliverable_email is not None:
            requeued = await repo.requeue_waiting_for_contact(tx.conn, contact)
            if requeued:
                log.info(
                    "mail_requeued_for_new_contact", credit_code=contact.credit_code, mails=requeued
                )

    async def _warn_contact_replaced(
        self, tx: Tx, event_id: str, before: Contact, after: Contact, address: str
    ) -> None:
        mail = ContactChangedMail(
            enterprise_name=after.name,
            credit_code=after.credit_code,
            previous_contact_name=before.contact_name,
            contact_name=after.contact_name,
            contact_email=after.contact_email,
        )
        await self.queue_to(
            tx, event_id, EmailTemplate.CONTACT_CHANGED, (address, before.contact_name),
            render_contact_changed(mail, self.sender), missing_hint="unreachable: address checked",
        )

    async def bank_account_changed(
        self, tx: Tx, event_id: str, e: EnterpriseBankAccountChanged
    ) -> None:
        """Tell the contact on record BEFORE the change (the event carries it: notify's own
        contact row may already hold a contact the same request put in), so a fraudulent change
        reaches the people it would rob."""
        mail = BankAccountChangedMail(
            enterprise_name=e.enterprise_name,
            credit_code=e.credit_code,
            contact_name=e.previous_contact_name,
            previous_bank_name=e.previous_bank_name,
            previous_account_no=e.previous_account_no,
            bank_name=e.bank_name,
            account_no=e.account_no,
            changed_at=e.changed_at,
        )
        await self.queue_to(
            tx,
            event_id,
            EmailTemplate.BANK_ACCOUNT_CHANGED,
            (e.previous_contact_email, e.previous_contact_name),
            render_bank_account_changed(mail, self.sender),
            missing_hint=f"enterprise {e.credit_code} had no contact e-mail before the change; "
            "tell it by phone",
        )

    async def register_program(self, tx: Tx, e: ProgramActivated) -> None:
        items = [(item.code, item.name) for line in e.lines for item in line.items]
        await repo.upsert_program(
            tx.conn,
            code=e.program_code,
            name=e.name,
            county_name=e.county_name,
            year=e.year,
            phase=e.phase,
            items=items,
            publicity_working_days=e.publicity_working_days,
        )

    # -- claims -----------------------------------------------------------------------------
    async def claim_submitted(self, tx: Tx, event_id: str, e: ClaimSubmitted) -> None:
        """Tell the enterprise its claim arrived and what the rule computed."""
        program_name, item_name = await repo.names_for(tx.conn, e.program_code, e.item_code)
        mail = ClaimReceivedMail(
            enterprise_name=e.enterprise_name,
            claim_id=e.claim_id,
            program_name=program_name or e.program_code,
            item_name=item_name or e.item_code,
            period=e.period,
            amount_fen=e.amount_fen,
            eligible=e.eligible,
            submitted_at=e.submitted_at,
        )
        await self._queue(
            tx,
            event_id,
            EmailTemplate.CLAIM_RECEIVED,
            e.credit_code,
            render_claim_received(mail, self.sender),
        )

    async def claim_returned(self, tx: Tx, event_id: str, e: ClaimReturned) -> None:
        """Tell the enterprise which evidence the bureau is missing."""
        program_name, item_name = await repo.names_for(tx.conn, e.program_code, e.item_code)
        mail = ClaimReturnedMail(
            enterprise_name=e.enterprise_name,
            claim_id=e.claim_id,
            program_name=program_name or e.program_code,
            item_name=item_name or e.item_code,
            note=e.note,
            returned_at=e.returned_at,
        )
        await self._queue(
            tx,
            event_id,
            EmailTemplate.CLAIM_RETURNED,
            e.credit_code,
            render_claim_returned(mail, self.sender),
        )

    async def claim_approved(self, tx: Tx, event_id: str, e: ClaimApproved) -> None:
        """Nothing to publish yet: the award exists for the public only once funds has reserved
        it (``award_reserved``); an approval funds refuses must leave no notice and no promise."""
        log.info("approval_awaits_reservation", award_id=e.award_id, event_id=event_id)

    async def award_reserved(self, tx: Tx, event_id: str, e: AwardReserved) -> None:
        """funds reserved the award: publicise it (公示) when required, and tell the enterprise."""
        if e.credit_code is None or e.enterprise_name is None or e.requires_publicity is None:
            raise DomainError(
                "AWARD_RESERVED_WITHOUT_NOTICE_FIELDS",
                f"award_reserved for {e.award_id} lacks the payee and publicity fields (a funds "
                "from before issue 16): the notice cannot be written from it",
                detail_zh=f"奖补 {e.award_id} 的预留事件缺少收款人和公示信息（来自旧版资金服务），无法据此编写公示。",
            )
        program_name, item_name = await repo.names_for(tx.conn, e.program_code, e.item_code)
        item_name = e.item_name or item_name or e.item_code
        if not e.requires_publicity:
            mail = ApprovalMail(e.enterprise_name, e.claim_id, program_name or e.program_code,
                                item_name, e.amount_fen, publicity=None)
            rendered = render_claim_approved(mail, self.sender)
            await self._queue(tx, event_id, EmailTemplate.CLAIM_APPROVED, e.credit_code, rendered)
            return
        days = e.publicity_working_days or await self._program_days(tx, e.program_code)
        await self._publicise(tx, Notice(
            id=new_id(), award_id=e.award_id, claim_id=e.claim_id, program_code=e.program_code,
            item_code=e.item_code, item_name=item_name, credit_code=e.credit_code,
            awardee_name=e.enterprise_name, amount_fen=e.amount_fen, approval_event_id=event_id,
            working_days=days,
        ))

    async def reservation_refused(self, tx: Tx, event_id: str, e: ReservationRefused) -> None:
        """funds could not reserve the award: no notice may show it (one already up, e.g. from
        before issue 16, is withdrawn visibly) and the enterprise is told why, with the figures."""
        await self._withdraw_unreserved(tx, event_id, e.award_id, e.code, e.refused_at)
        if e.credit_code is None or e.enterprise_name is None:
            log.warning("refusal_without_payee", award_id=e.award_id, code=e.code)
            return
        program_name, item_name = await repo.names_for(tx.conn, e.program_code, e.item_code)
        mail = ReservationRefusedMail(
            enterprise_name=e.enterprise_name, claim_id=e.claim_id,
            program_name=program_name or e.program_code,
            item_name=e.item_name or item_name or e.item_code, amount_fen=e.amount_fen,
            available_fen=e.item_available_fen, code=e.code, refused_on=local_date(e.refused_at),
        )
        await self._queue(tx, event_id, EmailTemplate.RESERVATION_REFUSED, e.credit_code,
                          render_reservation_refused(mail, self.sender))

    async def contract_payment_refused(self, tx: Tx, event_id: str, e: ContractPaymentRefused) -> None:
        """A publicised contract tranche funds could not reserve: its notice is withdrawn (撤回)."""
        await self._withdraw_unreserved(tx, event_id, e.payment_due_id, e.code, e.refused_at)

    async def _withdraw_unreserved(
        self, tx: Tx, event_id: str, award_id: str, code: str, at: datetime
    ) -> None:
        revocation = revocation_of_refused_reservation(award_id, code, at)
        first = await repo.insert_revocation(tx.conn, revocation, event_id)
        notice = await repo.notice_for_award(tx.conn, award_id)
        if notice is not None and first:
            log.warning("notice_withdrawn_unreserved", award_id=award_id, notice_id=notice.id, code=code)

    async def _program_days(self, tx: Tx, program_code: str) -> int:
        days = await repo.publicity_working_days_of(tx.conn, program_code)
        return days if days is not None else PUBLICITY_WORKING_DAYS

    async def contract_payment_due(self, tx: Tx, event_id: str, e: ContractPaymentDue) -> None:
        """A contract tranche of a program whose contract payments are publicised (the program
        says so): the same notice (公示) and window as an award; funds waits for it."""
        if not e.requires_publicity:
            return
        kind = TRANCHE_KIND_ZH[e.tranche_kind]
        await self._publicise(tx, Notice(
            id=new_id(), award_id=e.payment_due_id, claim_id=e.contract_id, program_code=e.program_code,
            item_code=e.item_code, item_name=f"{e.item_name}（合同{e.contract_no}，{kind}）",
            credit_code=e.provider_credit_code, awardee_name=e.provider_name, amount_fen=e.amount_fen,
            approval_event_id=event_id, working_days=await self._program_days(tx, e.program_code),
        ))

    async def _publicise(self, tx: Tx, notice: Notice) -> None:
        if not await repo.insert_notice(tx.conn, notice):
            # The same award approved again under another message id (a re-sent event):
            # its notice and mail exist already.
            log.info("notice_exists_for_award", award_id=notice.award_id, event_id=notice.approval_event_id)
            return
        try:
            await self._publish(tx, notice)
        except (CalendarYearUnknown, CalendarFileInvalid) as exc:
            # Never guess a window: the notice waits until an admin loads (or repairs) the
            # year and retries. Raising instead would dead-letter the approval.
            log.error(
                "notice_awaiting_calendar",
                notice_id=notice.id,
                award_id=notice.award_id,
                code=exc.code,
                detail=exc.message,
            )

    async def claim_rejected(self, tx: Tx, event_id: str, e: ClaimRejected) -> None:
        program_name, item_name = await repo.names_for(tx.conn, e.program_code, e.item_code)
        mail = RejectionMail(
            e.enterprise_name,
            e.claim_id,
            program_name or e.program_code,
            item_name or e.item_code,
            e.reason,
            local_date(e.rejected_at),
        )
        await self._queue(
            tx,
            event_id,
            EmailTemplate.CLAIM_REJECTED,
            e.credit_code,
            render_claim_rejected(mail, self.sender),
        )

    async def payment_executed(self, tx: Tx, event_id: str, e: PaymentExecuted) -> None:
        """Record the paid award for open data and mail the payee."""
        paid = PaidAward(
            payment_id=e.payment_id,
            award_id=e.award_id,
            claim_id=e.claim_id,
            program_code=e.program_code,
            item_code=e.item_code,
            credit_code=e.payee_credit_code,
            payee_name=e.payee_name,
            amount_fen=e.amount_fen,
            executed_at=e.executed_at,
            paid_on=local_date(e.executed_at),
        )
        await repo.insert_paid_award(tx.conn, paid)
        program_name, item_name = await repo.names_for(tx.conn, e.program_code, e.item_code)
        notice = await repo.notice_for_award(tx.conn, e.award_id)
        mail = PaymentMail(
            payee_name=e.payee_name,
            payment_id=e.payment_id,
            claim_id=e.claim_id,
            program_name=program_name or e.program_code,
            item_name=notice.item_name if notice else item_name or e.item_code,
            amount_fen=e.amount_fen,
            paid_on=local_date(e.executed_at),
            bank_name=e.bank_instruction.to_bank_name,
            bank_account=e.bank_instruction.to_account,
        )
        await self._queue(
            tx,
            event_id,
            EmailTemplate.PAYMENT_EXECUTED,
            e.payee_credit_code,
            render_payment_executed(mail, self.sender),
        )

    # -- funds ------------------------------------------------------------------------------
    async def award_revoked(self, tx: Tx, event_id: str, e: AwardRevoked) -> None:
        """Withdraw the award's notice on the public page (shown as revoked, never deleted)."""
        revocation = Revocation(
            award_id=e.award_id, code=e.code, reason=e.reason, revoked_at=e.revoked_at
        )
        first = await repo.insert_revocation(tx.conn, revocation, event_id)
        notice = await repo.notice_for_award(tx.conn, e.award_id)
        log.info(
            "award_revoked",
            award_id=e.award_id,
            code=e.code,
            notice_id=notice.id if notice else None,
            first=first,
        )
        if first and notice is not None:
            await self.objections.tell_objectors_revoked(tx, event_id, notice, revocation)

    # -- notices ----------------------------------------------------------------------------
    async def publish_notice(self, tx: Tx, notice_id: str) -> Notice:
        """An admin's retry of a notice that waited for the calendar.

        Raises NotFound, NOTICE_ALREADY_PUBLISHED, CALENDAR_YEAR_UNKNOWN (still not loaded) or
        CALENDAR_FILE_INVALID.
        """
        notice = await repo.get_notice(tx.conn, notice_id, for_update=True)
        if notice is None:
            raise NotFound("NOTICE_NOT_FOUND", f"no notice {notice_id}",
                detail_zh=f"没有编号为 {notice_id} 的公示。")
        return await self._publish(tx, notice)

    async def _publish(self, tx: Tx, notice: Notice) -> Notice:
        """Publish now: window from the calendar, event out, approval mail with the dates."""
        published_at = tx.clock.now()
        try:
            window = self.calendar.publicity_window_for_instant(published_at, notice.working_days)
        except CalendarFileError as exc:
            raise CalendarFileInvalid(exc) from exc
        published = notice.publish(
            published_at,
            published_on=local_date(published_at),
            starts_on=window.starts_on,
            ends_on=window.ends_on,
        )
        published = replace(published, seq=await repo.save_publication(tx.conn, published))
        url = self.url_of(published.id)
        await self.emit(
            tx,
            PublicityPublished(
                notice_id=published.id,
                award_id=published.award_id,
                claim_id=published.claim_id,
                program_code=published.program_code,
                item_code=published.item_code,
                published_at=published_at,
                starts_on=window.starts_on,
                ends_on=window.ends_on,
                url=url,
                notice_no=published.number,
            ),
            aggregate_id=published.id,
        )
        await self._queue_approval_with_dates(tx, published, window, url)
        log.info(
            "notice_published",
            notice_id=published.id,
            award_id=published.award_id,
            starts_on=str(window.starts_on),
            ends_on=str(window.ends_on),
        )
        return published

    async def _queue_approval_with_dates(
        self, tx: Tx, n: Notice, window: PublicityWindow, url: str
    ) -> None:
        program_name, _ = await repo.names_for(tx.conn, n.program_code, n.item_code)
        dates = PublicityDates(
            window.starts_on, window.ends_on, window.payable_from, url, n.working_days
        )
        mail = ApprovalMail(
            n.awardee_name,
            n.claim_id,
            program_name or n.program_code,
            n.item_name,
            n.amount_fen,
            publicity=dates,
        )
        # Keyed by the approval message: however often publication is retried, one mail.
        await self._queue(
            tx,
            n.approval_event_id,
            EmailTemplate.CLAIM_APPROVED,
            n.credit_code,
            render_claim_approved(mail, self.sender),
        )

    # -- shared by the use cases --------------------------------------------------------------
    async def emit(self, tx: Tx, event: Event, *, aggregate_id: str) -> dict[str, Any]:
        """Every event notify emits goes through here: the outbox and the webhook deliveries
        for it, both in the use case's transaction."""
        envelope = await tx.emit(event, aggregate_id=aggregate_id)
        await self.webhooks.fanout(tx, envelope)
        return envelope

    async def queue_to(
        self,
        tx: Tx,
        event_id: str,
        template: EmailTemplate,
        to: tuple[str | None, str | None],
        mail: RenderedEmail,
        *,
        missing_hint: str,
    ) -> OutgoingEmail | None:
        """Queue a mail to someone who is not an enterprise: ``to`` = (address, name).

        None when this event already queued this template (a redelivery)."""
        email = OutgoingEmail.queue_to(
            id=new_id(),
            event_id=event_id,
            template=template,
            address=to[0],
            name=to[1],
            mail=mail,
            missing_hint=missing_hint,
        )
        if not await repo.queue_email(tx.conn, email):
            return None
        if email.error_code is not None:
            log.warning(
                "mail_not_deliverable",
                email_id=email.id,
                template=template.value,
                code=email.error_code.value,
                error=email.last_error,
            )
        return email

    async def _queue(
        self, tx: Tx, event_id: str, template: EmailTemplate, credit_code: str, mail: RenderedEmail
    ) -> None:
        await repo.lock_contact(tx.conn, credit_code)
        contact = await repo.get_contact(tx.conn, credit_code)
        email = OutgoingEmail.queue(
            id=new_id(),
            event_id=event_id,
            template=template,
            credit_code=credit_code,
            contact=contact,
            mail=mail,
        )
        if not await repo.queue_email(tx.conn, email):
            return
        if email.error_code is not None:
            log.warning(
                "mail_not_deliverable",
                email_id=email.id,
                template=template.value,
                credit_code=credit_code,
                code=email.error_code.value,
            )

    # -- reads ------------------------------------------------------------------------------
    async def public_notices(
        self, pool: asyncpg.Pool, *, limit: int, after: tuple[datetime, str] | None
    ) -> list[repo.NoticeRow]:
        async with pool.acquire() as conn:
            return await repo.public_notices(conn, limit=limit, after=after)

    async def public_notice_id(self, pool: asyncpg.Pool, reference: str) -> str:
        """The id of the published notice a person refers to: its id (links) or its 公示编号
        (what is quoted on the phone, in letters and in the objection form)."""
        try:
            return str(UUID(reference))
        except ValueError:
            pass
        number = parse_notice_number(reference)
        found = None
        if number is not None:
            async with pool.acquire() as conn:
                found = await repo.notice_id_by_number(conn, *number)
        if found is None:
            raise NotFound("NOTICE_NOT_FOUND", f"no published notice {reference[:60]!r}", field="notice_id",
                detail_zh=f"没有编号为 {reference[:60]} 的已发布公示，请核对公示编号。")
        return found

    async def public_notice(self, pool: asyncpg.Pool, notice_id: str) -> repo.NoticeRow:
        async with pool.acquire() as conn:
            rows = await repo.public_notices(conn, limit=1, notice_id=notice_id)
        if not rows:  # unknown, or not published yet: both are "not found" to the public
            raise NotFound("NOTICE_NOT_FOUND", f"no published notice {notice_id}",
                detail_zh=f"没有编号为 {notice_id} 的已发布公示。")
        return rows[0]

    async def public_paid_awards(self, pool: asyncpg.Pool) -> AsyncIterator[PublicPaidAward]:
        """Every paid award, masked, in payment order; read in chunks as the export streams."""
        after: tuple[datetime, str] | None = None
        while True:
            async with pool.acquire() as conn:
                rows = await repo.paid_awards(conn, limit=EXPORT_CHUNK_ROWS, after=after)
            for row in rows:
                url = self.url_of(row.notice_id) if row.notice_id else None
                number = notice_number(row.paid.program_code, row.notice_seq) if row.notice_seq else None
                yield PublicPaidAward.of(
                    row.paid, program_name=row.program_name, item_name=row.item_name, notice_url=url,
                    notice_no=number,
                )
            if len(rows) < EXPORT_CHUNK_ROWS:
                return
            after = (rows[-1].paid.executed_at, rows[-1].paid.payment_id)

    async def admin_notices(
        self, pool: asyncpg.Pool, *, limit: int, before_id: str | None, status: NoticeStatus | None
    ) -> list[Notice]:
        async with pool.acquire() as conn:
            return await repo.admin_notices(conn, limit=limit, before_id=before_id, status=status)

    # -- mail delivery ----------------------------------------------------------------------
    async def deliver_next_email(
        self, pool: asyncpg.Pool, mailer: SmtpMailer, clock: Clock
    ) -> bool:
        """Send one due mail, if any; True if one was attempted."""
        lease_seconds = self.settings.smtp_timeout_seconds * LEASE_TIMEOUTS + LEASE_MARGIN_SECONDS
        async with pool.acquire() as conn:
            claimed = await repo.claim_due_emails(conn, limit=1, lease_seconds=lease_seconds)
        if not claimed:
            return False
        email = claimed[0]
        try:
            message = build_message(
                OutgoingMessage(email.id, email.to_address, email.to_name, email.subject, email.body),
                mail_from=self.settings.mail_from,
                now=clock.now(),
            )
        except (ValueError, TypeError, MessageError) as exc:  # e.g. CR/LF in a header
            await self._give_up_unbuildable(pool, email, exc)
            return True
        try:
            # smtplib blocks: keep it off the event loop so consumers and HTTP stay responsive.
            await asyncio.to_thread(mailer.send, message, email.to_address)
        except MailDeliveryError as exc:
            await self._record_failure(pool, email, exc)
            return True
        async with pool.acquire() as conn:
            await repo.mark_sent(conn, email.id)
        log.info("mail_sent", email_id=email.id, attempts=email.attempts)
        return True

    async def _give_up_unbuildable(
        self, pool: asyncpg.Pool, email: repo.ClaimedEmail, exc: Exception
    ) -> None:
        code = EmailErrorCode.MESSAGE_INVALID
        error = f"{code.value}: the mail cannot be built, so it is not retried: {exc}"
        async with pool.acquire() as conn:
            await repo.mark_failed(conn, email.id, code=code, error=error)
        log.error("mail_failed", email_id=email.id, attempts=email.attempts, code=code.value,
                  error=str(exc))  # fmt: skip

    async def _record_failure(
        self, pool: asyncpg.Pool, email: repo.ClaimedEmail, exc: MailDeliveryError
    ) -> None:
        s = self.settings
        async with pool.acquire() as conn:
            if should_give_up(email.attempts, s.mail_max_attempts, permanent=exc.permanent):
                code = (
                    EmailErrorCode.SMTP_REJECTED if exc.permanent else EmailErrorCode.MAX_ATTEMPTS
                )
                error = f"{code.value}: gave up after {email.attempts} attempt(s); last error: {exc.reason}"
                await repo.mark_failed(conn, email.id, code=code, error=error)
                log.error(
                    "mail_failed",
                    email_id=email.id,
                    attempts=email.attempts,
                    code=code.value,
                    error=exc.reason,
                )
                return
            delay = retry_delay_seconds(
                email.attempts, s.mail_retry_base_seconds, s.mail_retry_max_seconds
            )
            await repo.mark_retry(conn, email.id, delay_seconds=delay, error=exc.reason)
        log.warning(
            "mail_retry",
            email_id=email.id,
            attempts=email.attempts,
            delay_s=delay,
            error=exc.reason,
        )
