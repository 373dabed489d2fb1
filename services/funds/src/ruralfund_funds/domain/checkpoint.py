"""Signed tree heads (checkpoints) of the ledger's Merkle tree, and what a verifier concludes
from the leaves and tables it reads. Pure: the signature itself is made and checked by the
caller with the service's event key (``ruralfund_common.messaging.signing``) over
:meth:`Checkpoint.signed_data` framed by :data:`SIGNING_SUBJECT`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["ORIGIN", "SIGNING_SUBJECT", "Checkpoint"]

#: Names this log in every checkpoint: a checkpoint of another log never verifies against ours.
ORIGIN = "ruralfund funds ledger"
#: The subject the signature is framed with (a subject nothing is ever published on, so an event
#: signature can never stand in for a checkpoint's, nor the other way round).
SIGNING_SUBJECT = "funds.ledger.checkpoint"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: str  # hex of MTH over the first tree_size leaves
    signed_at: datetime  # UTC
    key_id: str = ""
    signature: str = ""  # base64url Ed25519

    def signed_data(self) -> bytes:
        """What the key signs: one field a line, like a C2SP checkpoint note."""
        return f"{self.origin}\n{self.tree_size}\n{self.root_hash}\n{self.signed_at.isoformat()}\n".encode()

    @property
    def msg_id(self) -> str:
        return f"ledger-checkpoint:{self.tree_size}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "signed_at": self.signed_at.isoformat(),
            "key_id": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> Checkpoint:
        """From a kept copy (funds' API, notify's open data or the event's data); KeyError or
        ValueError when it is not one."""
        signed_at = data["signed_at"]
        if isinstance(signed_at, str):
            signed_at = datetime.fromisoformat(signed_at)
        size = int(data["tree_size"])
        root = str(data["root_hash"])
        if size < 0 or len(root) != 64 or int(root, 16) < 0:
            raise ValueError("not a checkpoint: tree_size or root_hash")
        return cls(
            str(data["origin"]),
            size,
            root.lower(),
            signed_at,
            str(data["key_id"]),
            str(data["signature"]),
        )
