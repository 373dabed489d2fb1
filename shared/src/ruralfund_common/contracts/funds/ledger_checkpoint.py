from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from ...messaging.envelope import Event


class LedgerCheckpoint(Event):
    """funds signed a checkpoint of its ledger's Merkle tree (RFC 9162 tree head): the first
    ``tree_size`` leaves hash to ``root_hash``. Anyone may keep it; ``ruralfund ledger verify
    --checkpoint`` later proves the ledger is an append-only extension of it. The signature is
    funds' event key (``key_id``) over the lines origin, tree_size, root_hash, signed_at."""

    SUBJECT = "funds.evt.ledger_checkpoint.v1"
    checkpoint_id: int = Field(ge=1)
    origin: str = Field(max_length=200)
    tree_size: int = Field(ge=0)
    root_hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 Merkle tree hash")
    signed_at: datetime
    county_day: date = Field(description="the county day (Asia/Shanghai) it was signed on")
    reason: Literal["daily", "on_demand"]
    key_id: str = Field(max_length=64)
    signature: str = Field(max_length=100, description="base64url Ed25519 signature")
