"""HTTP in: the ledger's signed checkpoints and Merkle proofs (RFC 9162).

Reading is public: a checkpoint holds only a size, a hash and a signature, and anyone who kept
one must be able to ask for the proof that today's ledger extends it. Taking a checkpoint on
demand is for the bureau and auditors (it records the state, it changes no money)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from ruralfund_common.auth import Principal, Role, public_endpoint, require_roles
from ruralfund_common.bootstrap import CtxDep
from ruralfund_common.errors import NotFound

from .. import service
from ..adapters import ledger_tree as store

__all__ = ["ledger_router"]

ledger_router = APIRouter(prefix="/ledger", tags=["ledger proofs"])
Checkpointer = Annotated[Principal, Depends(require_roles(Role.BUREAU_ADMIN, Role.AUDITOR))]
Public = [Depends(public_endpoint)]
Hex = Field(pattern=r"^[0-9a-f]{64}$")


class CheckpointOut(BaseModel):
    origin: str
    tree_size: int = Field(ge=0)
    root_hash: str = Hex
    signed_at: str = Field(description="UTC, ISO 8601, exactly as signed")
    key_id: str
    signature: str = Field(
        description="base64url Ed25519 over origin, tree_size, root_hash, signed_at (one a line)"
    )
    county_day: str
    reason: Literal["daily", "on_demand"]


class ConsistencyProofOut(BaseModel):
    from_size: int
    to_size: int
    proof: list[str] = Field(description="RFC 9162 §2.1.4 consistency proof, hex hashes")


class InclusionProofOut(BaseModel):
    leaf_index: int
    tree_size: int
    leaf_hash: str = Hex
    proof: list[str] = Field(description="RFC 9162 §2.1.3 inclusion proof, hex hashes")


@ledger_router.post(
    "/checkpoints",
    status_code=201,
    response_model=CheckpointOut,
    summary="Sign and publish a checkpoint of the ledger's Merkle tree now",
)
async def take_checkpoint(request: Request, ctx: CtxDep, who: Checkpointer):
    async with ctx.transaction() as tx:
        return await service.make_checkpoint(tx, "on_demand", who.subject)


async def _one(ctx, tree_size: int | None) -> dict:
    async with ctx.db.acquire() as conn:
        rows = await store.checkpoint_rows(conn, tree_size=tree_size)
    if not rows:
        raise NotFound(
            "CHECKPOINT_NOT_FOUND",
            "no checkpoint" + (f" of size {tree_size}" if tree_size is not None else ""),
            detail_zh="没有" + (f"树大小为 {tree_size} 的" if tree_size is not None else "") + "账本检查点。",
        )
    return service.checkpoint_view(rows[0])


@ledger_router.get(
    "/checkpoints/latest",
    response_model=CheckpointOut,
    dependencies=Public,
    summary="The latest signed checkpoint (keep a copy: verify proves later ledgers extend it)",
)
async def latest_checkpoint(ctx: CtxDep):
    return await _one(ctx, None)


@ledger_router.get(
    "/checkpoints/{tree_size}",
    response_model=CheckpointOut,
    dependencies=Public,
    summary="The latest signed checkpoint of this tree size",
)
async def checkpoint_of_size(tree_size: Annotated[int, Path(ge=0, le=2**62)], ctx: CtxDep):
    return await _one(ctx, tree_size)


@ledger_router.get(
    "/proofs/consistency",
    response_model=ConsistencyProofOut,
    dependencies=Public,
    summary="Proof that the tree of size `to` extends the tree of size `from`",
)
async def consistency(
    ctx: CtxDep,
    from_: Annotated[int, Query(alias="from", ge=0, le=2**62)],
    to: Annotated[int, Query(ge=0, le=2**62)],
):
    async with ctx.db.acquire() as conn:
        return await service.prove_consistency(conn, from_, to)


@ledger_router.get(
    "/proofs/inclusion",
    response_model=InclusionProofOut,
    dependencies=Public,
    summary="Proof that leaf `leaf_index` is in the tree of size `tree_size`",
)
async def inclusion(
    ctx: CtxDep,
    leaf_index: Annotated[int, Query(ge=0, le=2**62)],
    tree_size: Annotated[int, Query(ge=1, le=2**62)],
):
    async with ctx.db.acquire() as conn:
        return await service.prove_inclusion(conn, leaf_index, tree_size)
