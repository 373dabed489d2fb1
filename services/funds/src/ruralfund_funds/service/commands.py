"""Client commands: each carries a client-supplied id; the first outcome, accepted or refused,
is kept under it and returned to every replay by the same principal (another principal sending
the id gets 409 ``IDEMPOTENCY_KEY_REUSED`` and changes nothing). A refusal is a value: it is recorded, emitted
as ``funds.evt.command_refused.v1`` and answered as problem+json, and it changes nothing else
(the use case ran in a savepoint that is rolled back)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ruralfund_common.auth import Principal
from ruralfund_common.errors import Conflict, DomainError
from ruralfund_common.messaging import Tx

from ._base import refusal_event
from .ledger import seal

__all__ = ["Outcome", "run_command"]

Outcome = tuple[int, dict[str, Any]]


async def run_command(tx: Tx, *, command_id: str | None, kind: str, by: Principal, request_hash: str,
                      run: Callable[[], Awaitable[dict[str, Any]]], ok_status: int = 200,
                      refs: dict[str, str | None] | None = None, id_field: str = "command_id") -> Outcome:
    """Returns (HTTP status, body); a refusal's body is ``{"code", "message", ...}``.
    ``id_field``: where the id came from (``command_id``, ``Idempotency-Key``), named when
    another principal's id is refused."""
    now = tx.clock.now()
    if command_id is not None:
        claimed = await tx.conn.fetchval(
            "INSERT INTO commands (command_id, kind, principal, request_hash, outcome, recorded_at) "
            "VALUES ($1,$2,$3,$4,'running',$5) ON CONFLICT DO NOTHING RETURNING 1",
            command_id, kind, by.subject, request_hash, now)
        if claimed is None:  # seen before (a concurrent first attempt has committed by now)
            return await _replay(tx, command_id, kind, request_hash, by, id_field)
    try:
        async with tx.conn.transaction():  # savepoint: a refusal undoes the use case's writes
            status, body = ok_status, await run()
    except DomainError as refused:
        status, body = refused.status, refused.to_dict()
        await tx.emit(refusal_event(kind, refused.code, refused.message, now, command_id=command_id,
                                    requested_by=by.subject, details=refused.details, **(refs or {})),
                      aggregate_id=command_id or kind)
    if command_id is not None:
        await tx.conn.execute(
            "UPDATE commands SET outcome=$2, http_status=$3, response=$4 WHERE command_id=$1",
            command_id, "refused" if status >= 400 else "accepted", status, body)
    await seal(tx)  # last: the rows the command changed become leaves of the ledger's tree
    return status, body


async def _replay(tx: Tx, command_id: str, kind: str, request_hash: str, by: Principal, id_field: str) -> Outcome:
    row = await tx.conn.fetchrow("SELECT kind, principal, request_hash, http_status, response FROM commands "
                                 "WHERE command_id=$1", command_id)
    if row["principal"] != by.subject:
        # The second approver reusing the first's id got the first's answer, and their own
        # approval was silently not recorded. Checked first: nothing about the stored command
        # (its kind, its body) is told to another person.
        raise Conflict("IDEMPOTENCY_KEY_REUSED", f"this {id_field} was already used by another person: send your "
                       f"command with a new {id_field}", field=id_field,
                       detail_zh=f"此 {id_field} 已被其他人使用，您的指令未被执行；请换一个新的 {id_field} 重新提交。")
    if row["kind"] != kind or row["request_hash"] != request_hash:
        raise Conflict("COMMAND_ID_REUSED", "this command id was used for a different command", field="command_id",
            detail_zh="此指令编号（command_id）已用于另一项不同的指令，您的指令未被执行；请换一个新编号重新提交。")
    return row["http_status"], row["response"]
