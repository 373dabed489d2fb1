"""Funds' states as the county reads them in a refusal ("该笔付款当前为“待签批”")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["AWARD_STATUS_ZH", "PAYMENT_STATUS_ZH"]

AWARD_STATUS_ZH: Final[Mapping[str, str]] = {
    "refused": "资金预留被拒", "reserved": "已预留资金", "in_publicity": "公示中", "paid": "已支付",
    "payable": "待重新支付", "revoked": "已撤销",
}  # fmt: skip
PAYMENT_STATUS_ZH: Final[Mapping[str, str]] = {
    "awaiting_approval": "待签批", "executed": "已执行", "settled": "已到账", "failed": "已退回",
    "cancelled": "已取消",
}  # fmt: skip
