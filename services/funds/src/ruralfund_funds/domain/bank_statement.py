"""The joint account's bank statement as CSV: parsing and matching lines to payment orders.

Format (UTF-8, header row, one transaction per line)::

    value_date,bank_txn_id,account_no,direction,amount_yuan,status,reference,counterparty_account,counterparty_name
    2026-03-09,TXN0001,6222000000000000,debit,"2,469.00",ok,RF0193…,6228480000000000001,新平礼好包装有限公司

``direction`` is debit (out of the joint account) or credit; ``status`` is ok, failed or
returned; ``reference`` is what funds put in the bank instruction (``RF`` + payment id).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from ruralfund_common.errors import InvalidInput
from ruralfund_common.money import parse_yuan

__all__ = ["COLUMNS", "MAX_STATEMENT_BYTES", "MAX_STATEMENT_LINES", "StatementLine", "parse_statement"]

COLUMNS = ("value_date", "bank_txn_id", "account_no", "direction", "amount_yuan", "status", "reference",
           "counterparty_account", "counterparty_name")
MAX_STATEMENT_LINES = 10_000
MAX_STATEMENT_BYTES = 4 * 1024 * 1024
_DIRECTIONS = {"debit": "debit", "借": "debit", "credit": "credit", "贷": "credit"}
_STATUSES = {"ok", "failed", "returned"}


@dataclass(frozen=True)
class StatementLine:
    value_date: date
    bank_txn_id: str
    account_no: str
    direction: str
    amount_fen: int
    status: str
    reference: str
    counterparty_account: str
    counterparty_name: str


def parse_statement(text: str) -> list[StatementLine]:
    """All lines or a refusal naming the first bad one (an import is all or nothing)."""
    if len(text.encode()) > MAX_STATEMENT_BYTES:
        raise InvalidInput("STATEMENT_TOO_LARGE", f"a statement is at most {MAX_STATEMENT_BYTES} bytes",
            detail_zh=f"银行对账单最多 {MAX_STATEMENT_BYTES:,} 字节，本文件为 {len(text.encode()):,} 字节。")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = set(COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise InvalidInput("STATEMENT_COLUMNS", f"missing columns: {', '.join(sorted(missing))}",
            detail_zh=f"银行对账单缺少以下列：{'、'.join(sorted(missing))}。")
    lines = []
    for n, row in enumerate(reader, start=2):
        if n - 1 > MAX_STATEMENT_LINES:
            raise InvalidInput("STATEMENT_TOO_LARGE", f"a statement has at most {MAX_STATEMENT_LINES} lines",
                detail_zh=f"银行对账单最多 {MAX_STATEMENT_LINES:,} 行。")
        lines.append(_line(n, row))
    return lines


def _line(n: int, row: dict[str, str]) -> StatementLine:
    def bad(field: str, why: str) -> InvalidInput:
        return InvalidInput("STATEMENT_LINE_INVALID", f"line {n}: {field} {why}", field=field, details={"line": n},
            detail_zh=f"银行对账单第 {n} 行的“{field}”有误，整份对账单未导入。")

    try:
        value_date = date.fromisoformat((row["value_date"] or "").strip())
    except ValueError:
        raise bad("value_date", "is not a date (YYYY-MM-DD)") from None
    try:
        amount = parse_yuan((row["amount_yuan"] or "").strip())
    except (ValueError, TypeError):
        raise bad("amount_yuan", "is not an amount in yuan") from None
    if amount <= 0:
        raise bad("amount_yuan", "must be positive")
    direction = _DIRECTIONS.get((row["direction"] or "").strip().lower())
    if direction is None:
        raise bad("direction", "must be debit or credit")
    status = (row["status"] or "").strip().lower()
    if status not in _STATUSES:
        raise bad("status", "must be ok, failed or returned")
    txn = (row["bank_txn_id"] or "").strip()
    if not txn or len(txn) > 100:
        raise bad("bank_txn_id", "is required (1..100 characters)")
    return StatementLine(value_date, txn, (row["account_no"] or "").strip(), direction, amount, status,
                         (row["reference"] or "").strip().upper(), (row["counterparty_account"] or "").strip(),
                         (row["counterparty_name"] or "").strip())
