"""The publicity notice (公示) of an award: drafted on approval, published when the
publicity window can be computed.

An approved reward must be publicised for 5 working days (the program's
``publicity_working_days``) before it is paid.  The window comes from the working-day
calendar; when the calendar of the publication year is not loaded yet, the notice waits
(``awaiting_calendar``) instead of guessing a window that could release money early.

A notice is drafted only once funds has reserved the award (``award_reserved``), never on
the approval alone: an award funds refuses (``ITEM_BUDGET_EXCEEDED``) must not be publicised
nor promised. A notice already up when funds refuses (a contract tranche, publicised on its
due event) is withdrawn visibly, like a revoked one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Final

from ruralfund_common.calendar import COUNTY_TZ, PUBLICITY_WORKING_DAYS
from ruralfund_common.errors import Conflict

__all__ = [
    "REVOCATION_NOTE_ZH",
    "Notice",
    "NoticeAlreadyPublished",
    "NoticeStatus",
    "PublicityPhase",
    "Revocation",
    "notice_number",
    "notice_url",
    "parse_notice_number",
    "publicity_ends_at",
    "publicity_period_zh",
    "revocation_of_refused_reservation",
]

MAX_TEXT_CHARS: Final = 500
MAX_WORKING_DAYS: Final = 30  # as the program file allows


class NoticeStatus(StrEnum):
    AWAITING_CALENDAR = "awaiting_calendar"
    PUBLISHED = "published"


class PublicityPhase(StrEnum):
    """Where a published notice stands on a given county day."""

    NOT_STARTED = "not_started"  # published on a weekend or holiday: day 1 is still ahead
    OPEN = "open"
    ENDED = "ended"
    REVOKED = "revoked"  # funds revoked the award (e.g. an objection was upheld): withdrawn


# What the public reads about a withdrawn award, by funds' revocation code. The free-text
# reason stays with staff: it may name the objector or other people.
REVOCATION_NOTE_ZH: Final = {
    "OBJECTION_UPHELD": "经核查，公示期内收到的异议成立，该项奖补已撤销，不予拨付。",
    # funds could not reserve it (e.g. the item's budget is exhausted): withdrawn, not paid
    "RESERVATION_REFUSED": "该项资金未能在项目预算中安排，本公示撤回，不予拨付。",
}
DEFAULT_REVOCATION_NOTE_ZH: Final = "该项奖补已撤销，不予拨付。"


@dataclass(frozen=True, slots=True)
class Revocation:
    """funds revoked an award (``funds.evt.award_revoked.v1``); its notice is withdrawn.

    Kept by award, not on the notice: the revocation may arrive before notify has seen the
    approval (different streams), and the notice must still show it once it exists.
    """

    award_id: str
    code: str
    reason: str
    revoked_at: datetime

    def __post_init__(self) -> None:
        if self.revoked_at.tzinfo is None:
            raise ValueError("revoked_at must be timezone-aware")

    @property
    def public_note(self) -> str:
        return REVOCATION_NOTE_ZH.get(self.code, DEFAULT_REVOCATION_NOTE_ZH)


def revocation_of_refused_reservation(award_id: str, code: str, at: datetime) -> Revocation:
    """funds refused to reserve the award: a notice of it, if any, is withdrawn (撤回)."""
    return Revocation(award_id=award_id, code="RESERVATION_REFUSED", reason=code, revoked_at=at)


class NoticeAlreadyPublished(Conflict):
    def __init__(self, notice_id: str) -> None:
        super().__init__("NOTICE_ALREADY_PUBLISHED", f"notice {notice_id} is already published",
                         detail_zh=f"公示 {notice_id} 已发布，不能重复发布（重复发布会缩短异议期）。")


# How a publicised contract tranche names itself on the public page.
TRANCHE_KIND_ZH: Final = {"advance": "前期资金拨付", "instalment": "阶段验收付款", "balance": "尾款"}


@dataclass(frozen=True, slots=True)
class Notice:
    id: str
    award_id: str
    claim_id: str
    program_code: str
    item_code: str
    item_name: str
    credit_code: str
    awardee_name: str
    amount_fen: int
    # The ClaimApproved message this notice came from: its approval mail is keyed by it.
    approval_event_id: str
    status: NoticeStatus = NoticeStatus.AWAITING_CALENDAR
    published_at: datetime | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    # how long it is publicised: the program's publicity_working_days (funds enforces the same)
    working_days: int = PUBLICITY_WORKING_DAYS
    # its place among the program's published notices (1, 2, …), given at publication
    seq: int | None = None

    @property
    def number(self) -> str | None:
        """公示编号, e.g. XINPING-2021-0013: what a citizen quotes (None until published)."""
        return notice_number(self.program_code, self.seq) if self.seq is not None else None

    def __post_init__(self) -> None:
        for name in (
            "id",
            "award_id",
            "claim_id",
            "program_code",
            "item_code",
            "item_name",
            "credit_code",
            "awardee_name",
            "approval_event_id",
        ):
            value = getattr(self, name)
            if not value or not value.strip() or len(value) > MAX_TEXT_CHARS:
                raise ValueError(
                    f"notice {name} must be 1..{MAX_TEXT_CHARS} characters, got {value!r}"
                )
        if (
            isinstance(self.amount_fen, bool)
            or not isinstance(self.amount_fen, int)
            or self.amount_fen <= 0
        ):
            raise ValueError(f"notice amount_fen must be a positive int, got {self.amount_fen!r}")
        if isinstance(self.working_days, bool) or not 1 <= self.working_days <= MAX_WORKING_DAYS:
            raise ValueError(f"notice working_days must be 1..{MAX_WORKING_DAYS}, got {self.working_days!r}")
        object.__setattr__(self, "status", NoticeStatus(self.status))
        self._check_publication()

    def _check_publication(self) -> None:
        dates = (self.published_at, self.starts_on, self.ends_on)
        if self.status is NoticeStatus.AWAITING_CALENDAR:
            if any(d is not None for d in dates):
                raise ValueError("a notice awaiting the calendar has no publication date or window")
            return
        if any(d is None for d in dates):
            raise ValueError("a published notice needs published_at, starts_on and ends_on")
        assert (
            self.published_at is not None
            and self.starts_on is not None
            and self.ends_on is not None
        )
        if self.published_at.tzinfo is None or self.published_at.utcoffset() is None:
            raise ValueError("published_at must be timezone-aware")
        if not self.starts_on <= self.ends_on:
            raise ValueError(f"publicity window out of order: {self.starts_on} .. {self.ends_on}")

    @property
    def is_published(self) -> bool:
        return self.status is NoticeStatus.PUBLISHED

    def publish(
        self, at: datetime, *, published_on: date, starts_on: date, ends_on: date
    ) -> Notice:
        """The notice published at ``at`` (county day ``published_on``) with its window.

        Day 1 is the publication day or a later one (a notice put up on a Saturday starts
        on Monday), never earlier: a window that began before the public could read the
        notice would shorten the objection period.
        """
        if self.is_published:
            raise NoticeAlreadyPublished(self.id)
        if starts_on < published_on:
            raise ValueError(
                f"publicity cannot start ({starts_on}) before publication ({published_on})"
            )
        return replace(
            self,
            status=NoticeStatus.PUBLISHED,
            published_at=at,
            starts_on=starts_on,
            ends_on=ends_on,
        )

    def phase(self, today: date, revocation: Revocation | None = None) -> PublicityPhase:
        """Not started, open, ended (or revoked) on the county day ``today``."""
        if not self.is_published:
            raise ValueError(f"notice {self.id} is not published")
        assert self.starts_on is not None and self.ends_on is not None
        if revocation is not None:
            return PublicityPhase.REVOKED
        if today < self.starts_on:
            return PublicityPhase.NOT_STARTED
        return PublicityPhase.OPEN if today <= self.ends_on else PublicityPhase.ENDED

    @property
    def objections_close_at(self) -> datetime:
        """The instant the objection period ends: the end of ``ends_on`` in Asia/Shanghai."""
        if self.ends_on is None:
            raise ValueError(f"notice {self.id} is not published")
        return publicity_ends_at(self.ends_on)


NOTICE_NUMBER_DIGITS: Final = 4


def notice_number(program_code: str, seq: int) -> str:
    """公示编号: the program's code in capitals and the notice's sequence number, at least four
    digits (XINPING-2021-0013): short enough to read out on the phone or write on a letter."""
    if seq <= 0:
        raise ValueError(f"a notice sequence number starts at 1, got {seq}")
    return f"{program_code.upper()}-{seq:0{NOTICE_NUMBER_DIGITS}d}"


_NOTICE_NUMBER = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9-]*)-(\d{1,9})\s*$")


def parse_notice_number(text: str) -> tuple[str, int] | None:
    """(program code, sequence) of a 公示编号 as typed (any case, spaces around): None if it is
    not one. ``xinping-2021-13`` and ``XINPING-2021-0013`` are the same notice."""
    found = _NOTICE_NUMBER.match(text)
    if not found or int(found.group(2)) == 0:
        return None
    return found.group(1).lower(), int(found.group(2))


def notice_url(public_base_url: str, notice_id: str) -> str:
    """Where the public reads a notice; carried in PublicityPublished and in mails."""
    return f"{public_base_url.rstrip('/')}/publicity/notices/{notice_id}"


def publicity_ends_at(ends_on: date) -> datetime:
    """24:00 of the last publicity day in the county (= 00:00 Asia/Shanghai of the next day):
    an objection handed in at 23:59 on day 5 is in time."""
    return datetime.combine(ends_on + timedelta(days=1), time.min, tzinfo=COUNTY_TZ)


def publicity_period_zh(programs: Iterable[tuple[str, int]]) -> str:
    """The list page's sentence on how long the notices listed are publicised: each program's
    own ``publicity_working_days`` (a county may publicise longer than 5), never a constant."""
    days: dict[str, int] = {}
    for name, working_days in programs:
        days.setdefault(name, working_days)
    if not days:
        return "公示期按各项目实施方案确定"
    if len(set(days.values())) == 1:
        return f"公示期为 {next(iter(days.values()))} 个工作日"
    each = "；".join(f"{name} {n} 个工作日" for name, n in days.items())
    return f"公示期按各项目实施方案确定：{each}"
