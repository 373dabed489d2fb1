"""Every event handler of funds seals the rows it changed into the ledger's Merkle tree: one
that did not would leave its changes unsealed, reported by verify as made around the service."""

from __future__ import annotations

from ruralfund_funds.entrypoints.subscribers import events


def test_every_subscription_seals() -> None:
    assert events.subscriptions
    unsealed = [
        name for _, handler, name in events.subscriptions if not getattr(handler, "sealed", False)
    ]
    assert unsealed == []
