"""Price transparency (区间价): carriers' published price ranges per weight band for certified
e-commerce enterprises, and the average agricultural parcel price against a baseline.

Xinping 2021 line 2 item 2: "统一县域孵化认证的电商企业快递发货价格，以区间价的形式确保全县快递驿站
发货价格的透明公开，确保农产品快递发货价格降低幅度不少于10%". Ruyuan 2021 phase 2 targets:
"物流快递成本降低20%以上".

A schedule is never edited: a change is a new version with a date from which it applies, so
the history of what was published stays public. Money is integer fen; the average and the
change are computed exactly from sums and only rounded (half up) for display, never to decide
whether the target is met.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from ruralfund_common.calendar import date_zh
from ruralfund_common.errors import Conflict, Forbidden, InvalidInput, NotFound
from ruralfund_common.money import FEN_PER_YUAN, parse_yuan

from .access import Actor
from .coverage import CarrierKind, CenterCarrier
from .network import Station, Tier, check_credit_code

__all__ = [
    "MAX_BANDS",
    "MAX_BAND_PRICE_FEN",
    "MAX_WEIGHT_G",
    "PRICE_TARGETS",
    "CertifiedShipper",
    "PriceBaseline",
    "PriceIndicator",
    "PriceQuote",
    "PriceSchedule",
    "PriceTarget",
    "WeightBand",
    "band_for",
    "certify_shipper",
    "check_may_publish_prices",
    "new_baseline",
    "parse_price_fen",
    "price_indicator",
    "publish_schedule",
    "revoke_shipper",
    "schedule_in_force",
]

MAX_BANDS: Final = 20
MAX_WEIGHT_G: Final = 100_000  # 100 kg: parcels, not freight loads
MAX_BAND_PRICE_FEN: Final = 10_000 * FEN_PER_YUAN  # far above any parcel price: catches unit slips
MAX_NOTE_CHARS: Final = 500
_BP: Final = 10_000


@dataclass(frozen=True)
class PriceTarget:
    code: str
    reduction_bp: int  # the average must fall by at least this much (basis points)
    source: str


PRICE_TARGETS: Final = {
    t.code: t
    for t in (
        PriceTarget(
            "xinping-2021",
            1_000,
            "xinping-2021 line 2 item 2: 农产品快递发货价格降低幅度不少于10%",
        ),
        PriceTarget(
            "ruyuan-2021-p2",
            2_000,
            "ruyuan-2021 phase 2 targets: 物流快递成本降低20%以上",
        ),
    )
}


@dataclass(frozen=True)
class WeightBand:
    """Parcels heavier than the previous band's ``up_to_g`` and at most this one's."""

    up_to_g: int
    min_fen: int
    max_fen: int

    @property
    def midpoint_x2_fen(self) -> int:
        """Twice the middle of the range: exact in integers (the middle may be half a fen)."""
        return self.min_fen + self.max_fen


@dataclass(frozen=True)
class PriceSchedule:
    id: str
    carrier_id: str
    version: int
    effective_from: date
    bands: tuple[WeightBand, ...]
    note: str | None
    published_by: str
    published_at: datetime


def parse_price_fen(text: str, field: str) -> int:
    try:
        fen = parse_yuan(text)
    except (ValueError, OverflowError, TypeError) as exc:
        raise InvalidInput("PRICE_INVALID", str(exc), field=field,
            detail_zh=f"“{field}”不是有效的元金额（如 12 或 12.50，最多两位小数）。") from None
    if not 0 < fen <= MAX_BAND_PRICE_FEN:
        raise InvalidInput(
            "PRICE_INVALID", f"a price must be 0.01..{MAX_BAND_PRICE_FEN // 100} yuan", field=field,
            detail_zh=f"“{field}”须在 0.01 至 {MAX_BAND_PRICE_FEN // 100:,} 元之间。",
        )
    return fen


def _check_bands(bands: Sequence[WeightBand]) -> tuple[WeightBand, ...]:
    if not 1 <= len(bands) <= MAX_BANDS:
        raise InvalidInput(
            "PRICE_BANDS_INVALID", f"give 1..{MAX_BANDS} weight bands", field="bands",
            detail_zh=f"请给出 1 至 {MAX_BANDS} 个重量段（bands）。",
        )
    below = 0
    for i, b in enumerate(bands):
        if not below < b.up_to_g <= MAX_WEIGHT_G:
            raise InvalidInput(
                "PRICE_BANDS_INVALID",
                f"up_to_g must rise band by band and stay within {MAX_WEIGHT_G} g",
                field=f"bands[{i}].up_to_g",
                detail_zh=f"第 {i + 1} 个重量段的上限（up_to_g）须逐段递增，且不超过 {MAX_WEIGHT_G:,} 克。",
            )
        if not 0 < b.min_fen <= b.max_fen <= MAX_BAND_PRICE_FEN:
            raise InvalidInput(
                "PRICE_RANGE_INVALID",
                "a range needs 0 < min_price <= max_price",
                field=f"bands[{i}].max_price",
                detail_zh=f"第 {i + 1} 个重量段的价格区间须满足 0 < 最低价 ≤ 最高价。",
            )
        below = b.up_to_g
    return tuple(bands)


def check_may_publish_prices(actor: Actor, carrier: CenterCarrier) -> None:
    """The bureau, or the carrier itself (an enterprise whose credit code is the carrier's)."""
    if actor.manages_network:
        return
    if carrier.credit_code is not None and actor.credit_code == carrier.credit_code:
        return
    raise Forbidden(
        "NOT_THE_CARRIER", f"only carrier {carrier.name} or the bureau may publish its prices",
        detail_zh=f"只有快递企业“{carrier.name}”或县商务局可以发布其价格。",
    )


def publish_schedule(
    carrier: CenterCarrier,
    *,
    bands: Sequence[WeightBand],
    effective_from: date,
    note: str | None,
    current: PriceSchedule | None,
    today: date,
    schedule_id: str,
    published_by: str,
    published_at: datetime,
) -> PriceSchedule:
    """The carrier's next price version. Prices apply from today or later, never back-dated
    (a shipper must be able to see a price before it is charged), and versions apply in order."""
    if not carrier.present_on(today):
        raise Conflict("CARRIER_NOT_PRESENT", f"{carrier.name} is not settled in the center",
            detail_zh=f"“{carrier.name}”今天未入驻中心，不能发布价格。")
    checked = _check_bands(bands)
    if effective_from < today:
        raise InvalidInput(
            "PRICE_BACKDATED", "effective_from is before today", field="effective_from",
            detail_zh=f"生效日期 {date_zh(effective_from)} 早于今天（{date_zh(today)}）：价格不能追溯生效。",
        )
    if current is not None and effective_from < current.effective_from:
        raise InvalidInput(
            "PRICE_BACKDATED",
            f"version {current.version} already applies from {current.effective_from}",
            field="effective_from",
            detail_zh=f"第 {current.version} 版价格已自{date_zh(current.effective_from)}起生效，新版本的生效日期不能早于此日。",
        )
    if current is not None and current.bands == checked:
        raise InvalidInput("PRICE_UNCHANGED", "the bands repeat the current version", field="bands",
            detail_zh="提交的重量段与现行版本完全相同，无需重新发布。")
    return PriceSchedule(
        id=schedule_id,
        carrier_id=carrier.id,
        version=1 if current is None else current.version + 1,
        effective_from=effective_from,
        bands=checked,
        note=_note(note),
        published_by=published_by,
        published_at=published_at,
    )


def _note(note: str | None, field: str = "note") -> str | None:
    text = note.strip() if note is not None else None
    if text is not None and not 0 < len(text) <= MAX_NOTE_CHARS:
        raise InvalidInput(
            "TEXT_INVALID", f"{field} must be 1..{MAX_NOTE_CHARS} characters", field=field,
            detail_zh=f"“{field}”须为 1 至 {MAX_NOTE_CHARS} 个字符。",
        )
    return text


def schedule_in_force(versions: Sequence[PriceSchedule], day: date) -> PriceSchedule | None:
    """The latest version applying on ``day`` (versions apply in order, see publish_schedule)."""
    applying = [v for v in versions if v.effective_from <= day]
    return max(applying, key=lambda v: v.version, default=None)


def band_for(schedule: PriceSchedule, weight_g: int) -> WeightBand | None:
    return next((b for b in schedule.bands if weight_g <= b.up_to_g), None)


# -- the baseline and the indicator --------------------------------------------------------


@dataclass(frozen=True)
class PriceBaseline:
    county_code: str
    revision: int
    target: PriceTarget
    reference_weight_g: int  # the typical agricultural parcel the average is taken at
    price_fen: int  # the average price of such a parcel before the program
    measured: str  # what the baseline is, e.g. "2020 年县内快递驿站平均发货价"
    correction_reason: str | None
    set_by: str
    set_at: datetime


def new_baseline(
    *,
    county_code: str,
    target_code: str,
    reference_weight_g: int,
    price_fen: int,
    measured: str,
    correction_reason: str | None,
    current: PriceBaseline | None,
    set_by: str,
    set_at: datetime,
) -> PriceBaseline:
    """The county's baseline, or a reasoned correction of it (the history is kept)."""
    target = PRICE_TARGETS.get(target_code)
    if target is None:
        raise InvalidInput(
            "PRICE_TARGET_UNKNOWN", f"target must be one of {sorted(PRICE_TARGETS)}", field="target",
            detail_zh=f"价格基准类别（target）须为以下之一：{'、'.join(sorted(PRICE_TARGETS))}。",
        )
    if not 0 < reference_weight_g <= MAX_WEIGHT_G:
        raise InvalidInput(
            "PRICE_BANDS_INVALID",
            f"reference_weight_g must be 1..{MAX_WEIGHT_G}",
            field="reference_weight_g",
            detail_zh=f"参考重量（reference_weight_g）须为 1 至 {MAX_WEIGHT_G:,} 克。",
        )
    if not 0 < price_fen <= MAX_BAND_PRICE_FEN:
        raise InvalidInput("PRICE_INVALID", "the baseline price is out of range", field="price",
            detail_zh=f"基准价格须在 0.01 至 {MAX_BAND_PRICE_FEN // 100:,} 元之间。")
    measured_text = _note(measured, "measured")
    if measured_text is None:
        raise InvalidInput("TEXT_INVALID", "say what the baseline measures", field="measured",
            detail_zh="请说明价格基准测量的是什么（measured）。")
    reason = _note(correction_reason, "correction_reason")
    if (current is None) != (reason is None):
        raise Conflict(
            "BASELINE_CORRECTION_REASON",
            "a first baseline has no correction_reason; changing it needs one",
            field="correction_reason",
            detail_zh="首次设定价格基准不需填写更正理由；更改已有基准须填写更正理由（correction_reason）。",
        )
    return PriceBaseline(
        county_code=county_code,
        revision=1 if current is None else current.revision + 1,
        target=target,
        reference_weight_g=reference_weight_g,
        price_fen=price_fen,
        measured=measured_text,
        correction_reason=reason,
        set_by=set_by,
        set_at=set_at,
    )


@dataclass(frozen=True)
class PriceQuote:
    carrier: CenterCarrier
    schedule: PriceSchedule
    band: WeightBand


@dataclass(frozen=True)
class PriceIndicator:
    as_of: date
    baseline: PriceBaseline
    quotes: tuple[PriceQuote, ...]
    average_fen: int | None  # rounded half up, for display
    change_bp: int | None  # negative: the price fell; rounded half away from zero, for display
    met: bool  # decided exactly, without rounding


def _div_half_up(num: int, den: int) -> int:
    """num / den rounded half away from zero (den > 0)."""
    assert den > 0
    q, r = divmod(abs(num), den)
    q += 2 * r >= den
    return q if num >= 0 else -q


def price_indicator(
    baseline: PriceBaseline, quotes: Sequence[PriceQuote], *, as_of: date
) -> PriceIndicator:
    """The average of the middles of the express carriers' ranges at the reference weight,
    against the baseline. No quote: not met (nothing shows the price fell)."""
    express = tuple(q for q in quotes if q.carrier.kind is CarrierKind.EXPRESS)
    if not express:
        return PriceIndicator(as_of, baseline, (), None, None, False)
    total_x2 = sum(q.band.midpoint_x2_fen for q in express)
    den = 2 * len(express)  # average = total_x2 / den
    base = baseline.price_fen
    met = total_x2 * _BP <= den * base * (_BP - baseline.target.reduction_bp)
    return PriceIndicator(
        as_of=as_of,
        baseline=baseline,
        quotes=express,
        average_fen=_div_half_up(total_x2, den),
        change_bp=_div_half_up((total_x2 - den * base) * _BP, den * base),
        met=met,
    )


# -- certified e-commerce enterprises -------------------------------------------------------


@dataclass(frozen=True)
class CertifiedShipper:
    """An e-commerce enterprise the county certified (物流孵化认证): it ships at the published
    range prices."""

    id: str
    center_id: str
    credit_code: str
    name: str
    certified_on: date
    revoked_on: date | None = None
    revoke_reason: str | None = None

    def active_on(self, day: date) -> bool:
        return self.certified_on <= day and (self.revoked_on is None or day < self.revoked_on)


def certify_shipper(
    center: Station,
    *,
    shipper_id: str,
    credit_code: str,
    name: str,
    certified_on: date,
    active_codes: Sequence[str],
    today: date,
) -> CertifiedShipper:
    if center.tier is not Tier.COUNTY_CENTER:
        raise InvalidInput("STATION_NOT_A_CENTER", f"station {center.id} is not the county center",
            detail_zh=f"站点 {center.id} 不是县级物流配送中心。")
    code = check_credit_code(credit_code, field="credit_code")
    if code in active_codes:
        raise Conflict(
            "SHIPPER_ALREADY_CERTIFIED", f"{code} is already certified", field="credit_code",
            detail_zh=f"统一社会信用代码 {code} 的企业已认证，不能重复认证。",
        )
    if certified_on > today:
        raise InvalidInput("DATE_IN_FUTURE", "certified_on is in the future", field="certified_on",
            detail_zh=f"认证日期 {date_zh(certified_on)} 晚于今天（{date_zh(today)}）。")
    label = _note(name, "name")
    if label is None or len(label) > 100:
        raise InvalidInput("TEXT_INVALID", "name must be 1..100 characters", field="name",
            detail_zh="企业名称（name）须为 1 至 100 个字符。")
    return CertifiedShipper(shipper_id, center.id, code, label, certified_on)


def revoke_shipper(
    shipper: CertifiedShipper | None, *, revoked_on: date, reason: str, today: date
) -> CertifiedShipper:
    if shipper is None:
        raise NotFound("SHIPPER_NOT_FOUND", "no such certified enterprise",
            detail_zh="没有该认证企业。")
    if shipper.revoked_on is not None:
        raise Conflict("SHIPPER_REVOKED", f"revoked on {shipper.revoked_on}",
            detail_zh=f"该企业的认证已于{date_zh(shipper.revoked_on)}撤销。")
    if not shipper.certified_on <= revoked_on <= today:
        raise InvalidInput(
            "DATE_INVALID", "revoked_on must be between certified_on and today", field="revoked_on",
            detail_zh=f"撤销日期须在认证日期（{date_zh(shipper.certified_on)}）与今天（{date_zh(today)}）之间。",
        )
    text = _note(reason, "reason")
    return CertifiedShipper(
        shipper.id,
        shipper.center_id,
        shipper.credit_code,
        shipper.name,
        shipper.certified_on,
        revoked_on,
        text,
    )
