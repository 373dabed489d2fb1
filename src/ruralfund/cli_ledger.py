"""``ruralfund ledger``: check the funds ledger from outside the service.

``verify`` recomputes the audit log's hash chain, every program's trial balance, every kept
balance against its postings and every entry against its audit record, and exits non-zero on
any break (for cron and for auditors). With ``--checkpoint FILE|URL`` it also proves the
ledger's Merkle tree is an append-only extension of a checkpoint someone kept and re-derives
every covered row from its leaves, naming each leaf, row and table that changed. ``reconcile`` prints the three-way reconciliation
(bank statement ↔ ledger ↔ approved awards) of one program, optionally with a statement file
that has not been imported. ``export`` writes a program's journal for accountants (序时账: CSV,
xlsx or beancount; the same file as funds' ``GET /programs/{p}/journal``). The database comes from ``--database-url``,
``RURALFUND_FUNDS_DATABASE_URL`` or ``DATABASE_URL``; the schema is ``funds``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["app"]

app = typer.Typer(name="ledger", help="Verify and reconcile the joint-account ledger.", no_args_is_help=True)
_out = Console()
_err = Console(stderr=True)

DatabaseUrl = Annotated[str | None, typer.Option(
    "--database-url", envvar=["RURALFUND_FUNDS_DATABASE_URL", "DATABASE_URL"],
    help="PostgreSQL URL [default: RURALFUND_FUNDS_DATABASE_URL, DATABASE_URL]")]
Schema = Annotated[str, typer.Option("--schema", help="the funds service's schema")]
AsJson = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _fail(message: str, code: int = 2) -> NoReturn:
    _err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _dsn(database_url: str | None) -> str:
    if database_url:
        return database_url
    from ruralfund_common.settings import load_settings

    return load_settings("funds").database_url


async def _connect(dsn: str, schema: str):
    from ruralfund_common.db.pool import connect

    try:
        return await connect(dsn, schema)
    except (OSError, Exception) as exc:  # noqa: BLE001 - any connection failure is a usage error here
        _fail(f"cannot connect to PostgreSQL: {exc}")


CheckpointOpt = Annotated[str | None, typer.Option(
    "--checkpoint", metavar="FILE|URL",
    help="a checkpoint someone kept (funds' GET /ledger/checkpoints/latest, notify's open data, or the event): "
         "prove the ledger is an append-only extension of it and every covered row matches its leaves")]


@app.command()
def verify(database_url: DatabaseUrl = None, schema: Schema = "funds", as_json: AsJson = False,
           checkpoint: CheckpointOpt = None) -> None:
    """Recompute the hash chain and the books (and, with --checkpoint, the Merkle tree); exit 1 on any break."""
    from ruralfund_funds.adapters.verify import check_tree, read_tree_state, verify_ledger

    kept = _load_checkpoints(checkpoint) if checkpoint else []
    signature_problem = _signature_check() if checkpoint else None

    async def run():
        conn = await _connect(_dsn(database_url), schema)
        try:
            report = await verify_ledger(conn)
            tree = check_tree(await read_tree_state(conn), kept, signature_problem) if checkpoint else None
            return report, tree
        finally:
            await conn.close()

    report, tree = asyncio.run(run())
    if tree is not None:
        report.problems += tree.problems
    if as_json:
        typer.echo(json.dumps(report.as_dict() | ({"tree": tree.as_dict()} if tree else {}), ensure_ascii=False,
                              indent=2, default=str))
    else:
        _print_verify(report, tree)
    raise typer.Exit(0 if report.ok else 1)


def _load_checkpoints(source: str) -> list:
    """One checkpoint or several (a list, or ``{"checkpoints": [...]}`` as open data has them)."""
    from ruralfund_funds.domain.checkpoint import Checkpoint

    try:
        if source.startswith(("http://", "https://")):
            import httpx

            response = httpx.get(source, timeout=20.0, follow_redirects=True)
            response.raise_for_status()
            data = response.json()
        else:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
    except (OSError, ValueError, Exception) as exc:  # noqa: BLE001 - any failure to read it is a usage error
        _fail(f"cannot read the checkpoint {source}: {exc}")
    items = data.get("checkpoints", [data]) if isinstance(data, dict) else data
    if isinstance(items, list) and len(items) == 1 and isinstance(items[0], dict) and "data" in items[0]:
        items = [items[0]["data"]]  # a CloudEvents envelope of funds.evt.ledger_checkpoint.v1
    try:
        found = [Checkpoint.of(item) for item in items]
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        _fail(f"{source} is not a ledger checkpoint: {exc!r}")
    if not found:
        _fail(f"{source} holds no checkpoint")
    return found


def _signature_check():
    """Checks a checkpoint's signature against the trusted event keys (RURALFUND_EVENT_TRUSTED_KEYS,
    the dev keys when unset outside production): funds' key, and only for its own subjects."""
    from ruralfund_common.messaging.signing import (
        HEADER_KEY_ID,
        HEADER_MSG_ID,
        HEADER_SIGNATURE,
        EventKeyError,
        SignatureRejected,
        TrustedKeys,
    )
    from ruralfund_common.settings import load_settings
    from ruralfund_funds.domain.checkpoint import ORIGIN, SIGNING_SUBJECT

    settings = load_settings("funds")
    try:
        if settings.event_trusted_keys:
            trusted = TrustedKeys.parse(settings.event_trusted_keys)
        elif settings.env == "production":
            _fail("RURALFUND_EVENT_TRUSTED_KEYS is required to check a checkpoint's signature in production")
        else:
            trusted = TrustedKeys.dev()
    except EventKeyError as bad:
        _fail(str(bad))

    def problem(cp) -> str | None:
        if cp.origin != ORIGIN:
            return f"a checkpoint of another log ({cp.origin!r})"
        headers = {HEADER_MSG_ID: cp.msg_id, HEADER_KEY_ID: cp.key_id, HEADER_SIGNATURE: cp.signature}
        try:
            trusted.verify(SIGNING_SUBJECT, SIGNING_SUBJECT, cp.signed_data(), headers)
        except SignatureRejected as rejected:
            return f"{rejected.code}: {rejected.message}"
        return None

    return problem


def _print_verify(report, tree=None) -> None:
    _out.print(f"audit records: {report.audit_records}   entries: {report.entries}   postings: {report.postings}")
    t = Table(title="trial balance per program")
    for col in ("program", "debits_fen", "credits_fen", "balanced"):
        t.add_column(col)
    for program, tb in sorted(report.programs.items()):
        t.add_row(program, f"{tb['debits_fen']:,}", f"{tb['credits_fen']:,}",
                  "yes" if tb["debits_fen"] == tb["credits_fen"] else "[red]NO[/]")
    _out.print(t)
    if tree is not None:
        kept = ", ".join(f"size {c['tree_size']} signed {c['signed_at']}" for c in tree.checkpoints)
        _out.print(f"Merkle tree: {tree.tree_size} leaves; kept checkpoint(s): {kept}")
    if report.ok:
        _out.print("[green]OK[/]: hash chain intact, books balanced, kept balances match the postings"
                   + ("; the ledger extends the checkpoint and every covered row matches its leaves" if tree else ""))
        return
    for p in report.problems:
        _out.print(f"[red]BROKEN[/] {p.check}: {p.where}: {p.detail}", highlight=False, soft_wrap=True)


@app.command()
def reconcile(
    program: Annotated[str, typer.Argument(help="program code, e.g. xinping-2021")],
    statement: Annotated[Path | None, typer.Option("--statement", exists=True, dir_okay=False,
                                                    help="a bank statement CSV not (yet) imported")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="the county day (YYYY-MM-DD) [default: today]")] = None,
    database_url: DatabaseUrl = None, schema: Schema = "funds", as_json: AsJson = False,
) -> None:
    """Three-way reconciliation of one program; exit 1 when there are mismatches."""
    from ruralfund_common.calendar import local_date
    from ruralfund_common.clock import SystemClock
    from ruralfund_common.errors import DomainError
    from ruralfund_funds.domain.bank_statement import parse_statement
    from ruralfund_funds.domain.reconcile import StatementRow
    from ruralfund_funds.service.reads import reconciliation

    day = date.fromisoformat(as_of) if as_of else local_date(SystemClock().now())
    extra: list[StatementRow] = []
    if statement is not None:
        try:
            lines = parse_statement(statement.read_text(encoding="utf-8"))
        except DomainError as bad:
            _fail(f"{bad.code}: {bad.message}")
        extra = [StatementRow(ln.bank_txn_id, ln.direction, ln.status, ln.amount_fen, ln.reference, None)
                 for ln in lines]

    async def run():
        conn = await _connect(_dsn(database_url), schema)
        try:
            if extra:  # match the file's references to payment orders, as an import would
                refs = {r["bank_reference"]: r["p"] for r in await conn.fetch(
                    "SELECT bank_reference, payment_id::text AS p FROM payments WHERE bank_reference = ANY($1::text[])",
                    [s.reference for s in extra])}
                extra[:] = [StatementRow(s.bank_txn_id, s.direction, s.status, s.amount_fen, s.reference,
                                         refs.get(s.reference)) for s in extra]
            return await reconciliation(conn, program, day, extra)
        except DomainError as bad:
            _fail(f"{bad.code}: {bad.message}")
        finally:
            await conn.close()

    report = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _out.print(f"{program} as of {report['as_of']}: {report['statement_lines']} statement lines, "
                   f"{report['payments']} payments, {report['awards']} awards")
        for m in report["mismatches"]:
            _out.print(f"[yellow]{m['kind']}[/] " + ", ".join(f"{k}={v}" for k, v in m.items() if k != "kind"),
                       highlight=False)
        _out.print("[green]clean[/]" if report["clean"] else "[red]mismatches found[/]")
    raise typer.Exit(0 if report["clean"] else 1)


class ExportFormat(str, Enum):
    csv = "csv"
    xlsx = "xlsx"
    beancount = "beancount"


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{option}: a county day as YYYY-MM-DD, e.g. 2026-10-13, not {text!r}")


FormatOption = Annotated[ExportFormat, typer.Option(
    "--format", "-f", help="csv (UTF-8 with BOM), xlsx or beancount")]
OutputOption = Annotated[Path | None, typer.Option(
    "--output", "-o", dir_okay=False, help="file to write; - for standard output "
    "[default: <program>-journal[-<from>-<to>].<format>]")]
FromOption = Annotated[str | None, typer.Option(
    "--from", help="first county day (Asia/Shanghai), YYYY-MM-DD")]
ToOption = Annotated[str | None, typer.Option(
    "--to", help="last county day (inclusive), YYYY-MM-DD")]


@app.command()
def export(
    program: Annotated[str, typer.Argument(help="program code, e.g. xinping-2021")],
    fmt: FormatOption = ExportFormat.csv, output: OutputOption = None, first: FromOption = None,
    last: ToOption = None, database_url: DatabaseUrl = None, schema: Schema = "funds",
) -> None:
    """Write a program's journal for accountants: accounting day, voucher number, account code,
    name and type, debit/credit in yuan, 摘要 (CSV, xlsx or a beancount file for bean-check)."""
    from rich import progress as rp
    from ruralfund_funds.reports import journal as reports

    first_day, last_day = _day(first, "--from"), _day(last, "--to")
    if first_day and last_day and first_day > last_day:
        _fail("--from is after --to")
    columns = (rp.TextColumn("{task.description}"), rp.BarColumn(), rp.MofNCompleteColumn(),
               rp.TimeElapsedColumn())
    with rp.Progress(*columns, console=_err, transient=True) as bar:
        task = bar.add_task(f"reading the journal of {program}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        journal = asyncio.run(_read_journal(database_url, schema, program, first_day, last_day,
                                            progress))
        bar.update(task, description=f"writing {fmt.value}", completed=0, total=len(journal.rows))
        body = reports.render(journal, fmt.value, progress)  # xlsx, the slow one, reports progress
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    path = output or Path(reports.file_name(program, first_day, last_day, fmt.value))
    path.write_bytes(body)
    entries = len({r.entry_id for r in journal.rows})
    _err.print(f"{path}: {entries} entries, {len(journal.rows)} postings ({fmt.value})",
               highlight=False)


async def _read_journal(database_url: str | None, schema: str, program: str,
                        first_day: date | None, last_day: date | None, progress):
    from ruralfund_common.errors import DomainError
    from ruralfund_funds.service.journal import journal_export

    conn = await _connect(_dsn(database_url), schema)
    try:
        return await journal_export(conn, program, first_day, last_day, progress=progress)
    except DomainError as bad:
        _fail(f"{bad.code}: {bad.message}")
    finally:
        await conn.close()
