"""`ruralfund award compute`: recompute an award from the program file's rule and the
evidence, for auditors — the same pure rule code the claims service runs, no server needed.

    ruralfund award compute --program xinping-2021 --item brand-packaging --evidence claim.json

``--program`` is a program code (looked up as ``<programs-dir>/<code>.yaml``, then
``<programs-dir>/examples/<code>.yaml``) or a path to a program file. ``--evidence`` is a JSON
or YAML file with the claim's ``evidence`` (as ``GET /claims/{id}`` shows it; station claims
carry the annual volume logistics reported). ``--rule-version`` (the claim's) makes the command
refuse to compute under a program file whose rule has changed since.

Exit codes: 0 eligible; 1 computed but not eligible; 2 cannot compute (unknown program or item,
a service item, invalid evidence, a program with errors, another rule version).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml
from ruralfund_claims.domain.claim import compute_award
from ruralfund_claims.domain.program import Program, check_program, decode_program_document
from ruralfund_claims.domain.rules import AwardComputation
from ruralfund_common.credit_code import division_code, validate_credit_code
from ruralfund_common.errors import DomainError
from ruralfund_common.money import format_yuan

__all__ = ["app"]

EXIT_ELIGIBLE = 0
EXIT_INELIGIBLE = 1
EXIT_CANNOT_COMPUTE = 2
MAX_EVIDENCE_FILE_BYTES = 64 * 1024
PROGRAMS_DIR_ENV = "RURALFUND_PROGRAMS_DIR"

app = typer.Typer(
    name="award",
    help="Recompute awards from a program's rules (for auditors).",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _group() -> None:
    """Awards under a program's reward rules."""  # a callback keeps `award compute` a sub-command


def _fail(code: str, message: str, *, as_json: bool) -> NoReturn:
    # JSON errors go to stdout so a script reading stdout always gets one JSON document.
    if as_json:
        typer.echo(json.dumps({"code": code, "message": message}, ensure_ascii=False))
    else:
        typer.echo(f"{code}: {message}", err=True)
    raise typer.Exit(EXIT_CANNOT_COMPUTE)


def _program_path(program: str, programs_dir: Path | None) -> tuple[Path, bool]:
    """The program file, and whether it was found by its code (then the codes must agree)."""
    given = Path(program)
    if given.suffix in {".yaml", ".yml", ".json"} and given.is_file():
        return given, False
    base = programs_dir or Path(os.environ.get(PROGRAMS_DIR_ENV) or "programs")
    for candidate in (base / f"{program}.yaml", base / "examples" / f"{program}.yaml"):
        if candidate.is_file():
            return candidate, True
    raise DomainError("PROGRAM_NOT_FOUND", f"no program file for {program!r} under {base}")


def _load_program(program: str, programs_dir: Path | None) -> Program:
    path, by_code = _program_path(program, programs_dir)
    media_type = "application/json" if path.suffix == ".json" else "application/yaml"
    check = check_program(decode_program_document(path.read_bytes(), media_type))
    if check.program is None or not check.can_activate:
        errors = "; ".join(f"{e.code} {e.path}" for e in check.errors[:5])
        raise DomainError("PROGRAM_INVALID", f"{path} does not check: {errors}")
    if by_code and check.program.code != program:
        raise DomainError(
            "PROGRAM_MISMATCH", f"{path} holds program {check.program.code}, not {program}"
        )
    return check.program


def _read_evidence(path: Path) -> Any:
    raw = path.read_bytes()
    if len(raw) > MAX_EVIDENCE_FILE_BYTES:
        raise DomainError(
            "EVIDENCE_TOO_LARGE", f"{path} is larger than {MAX_EVIDENCE_FILE_BYTES} bytes"
        )
    try:
        data = json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DomainError("EVIDENCE_INVALID", f"cannot read {path}: {exc}") from None
    # A whole claim (GET /claims/{id}) may be given: its evidence is what the rule reads.
    if isinstance(data, dict) and isinstance(data.get("evidence"), dict) and "item_code" in data:
        return data["evidence"]
    return data


def _county_of(credit_code: str | None) -> str | None:
    if credit_code is None:
        return None
    return division_code(validate_credit_code(credit_code.strip().upper(), field="credit-code"))


ProgramOption = Annotated[str, typer.Option("--program", help="program code or program file")]
ItemOption = Annotated[str, typer.Option("--item", help="reward item code, e.g. brand-packaging")]
EvidenceOption = Annotated[
    Path,
    typer.Option("--evidence", exists=True, dir_okay=False, help="evidence (JSON or YAML file)"),
]
ProgramsDirOption = Annotated[
    Path | None,
    typer.Option(
        "--programs-dir", file_okay=False, help=f"default ${PROGRAMS_DIR_ENV} or ./programs"
    ),
]
CreditCodeOption = Annotated[
    str | None,
    typer.Option("--credit-code", help="the claimant's credit code: adds the county check"),
]
RuleVersionOption = Annotated[
    str | None,
    typer.Option("--rule-version", help="refuse if the program's rule is another version"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("compute")
def compute(
    program: ProgramOption,
    item: ItemOption,
    evidence: EvidenceOption,
    programs_dir: ProgramsDirOption = None,
    credit_code: CreditCodeOption = None,
    rule_version: RuleVersionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute an award: eligible, amount in fen, rule version and every reason."""
    try:
        loaded = _load_program(program, programs_dir)
        rule_item = loaded.item(item)
        typed, result = compute_award(
            program=loaded,
            item=rule_item,
            raw_evidence=_read_evidence(evidence),
            claimant_county=_county_of(credit_code),
        )
        assert rule_item.rule is not None  # compute_award refuses items without a rule
        once = [k.label_zh for k in rule_item.rule.once_keys(typed)]
    except DomainError as exc:
        _fail(exc.code, exc.message, as_json=as_json)
    if rule_version is not None and rule_version != result.rule_version:
        _fail(
            "RULE_VERSION_MISMATCH",
            f"the program file's rule is {result.rule_version}, the award was computed under {rule_version}",
            as_json=as_json,
        )
    _print(loaded.code, item, result, once, as_json=as_json)
    raise typer.Exit(EXIT_ELIGIBLE if result.eligible else EXIT_INELIGIBLE)


def _print(
    program_code: str, item: str, result: AwardComputation, once: list[str], *, as_json: bool
) -> None:
    """``once``: what the award holds once whatever the claim (a store's months, a product
    code): the service refuses another claim for any of them."""
    if as_json:
        out = {
            "eligible": result.eligible,
            "amount_fen": result.amount_fen,
            "amount_yuan": format_yuan(result.amount_fen),
            "rule_version": result.rule_version,
            "reasons": [r.model_dump() for r in result.reasons],
            "period": result.period,
            "calculation": result.calculation,
            "program_code": program_code,
            "item_code": item,
            "flags": result.flags,
            "paid_once": once,
        }
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for r in result.reasons:
        mark = "ok  " if r.passed else "FAIL"
        typer.echo(f"{mark} {r.label}: {r.actual} (required {r.required})")
    for flag in result.flags:
        typer.echo(f"FLAG {flag}")
    if once:
        typer.echo(f"paid once: {'; '.join(once)}")
    typer.echo(f"calculation: {result.calculation}")
    verdict = "eligible" if result.eligible else "not eligible"
    typer.echo(
        f"{program_code}/{item} {result.period}: {verdict}, {format_yuan(result.amount_fen)} yuan"
        f" ({result.amount_fen} fen), rule {result.rule_version}"
    )
