"""Who may do what to which station, in the domain's own terms (no web framework here).

The edge turns an authenticated principal into an :class:`Actor`; the rules below decide on
a concrete station. A station operator is not a role: it is an enterprise whose credit code
is the station's operator credit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ruralfund_common.errors import Forbidden
from ruralfund_common.recusal import Stakes

from .network import Station

__all__ = ["Actor", "check_may_read_station", "check_may_report_volume"]


@dataclass(frozen=True)
class Actor:
    subject: str
    manages_network: bool  # the bureau (and automation): registers stations, may enter any report
    reads_network: bool  # may read every station's details, contacts and volumes
    credit_code: str | None = None  # set only when the actor acts as an enterprise
    # whatever the roles: the enterprises this person decides nothing about (ruralfund_common.recusal)
    stakes: Stakes = field(default_factory=Stakes)


def check_may_report_volume(actor: Actor, station: Station) -> None:
    if actor.manages_network or station.is_operated_by(actor.credit_code):
        return
    raise Forbidden(
        "NOT_STATION_OPERATOR",
        f"only the operator of station {station.id} or the bureau may report its volumes",
        detail_zh=f"只有站点 {station.id} 的运营方或县商务局可以报告其交易额。",
    )


def check_may_read_station(actor: Actor, station: Station) -> None:
    if actor.reads_network or actor.manages_network or station.is_operated_by(actor.credit_code):
        return
    # 403, not 404: the public list already shows that the station exists, just not its contacts.
    raise Forbidden("NOT_STATION_OPERATOR", f"station {station.id} is not operated by you",
        detail_zh=f"站点 {station.id} 不是由您运营的，不能查看其联系信息。")
