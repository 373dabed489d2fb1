"""`ruralfund program ...`: check a program file (示范项目) before it is posted to claims.

``check`` runs exactly the check ``POST /programs`` runs (the claims domain's
``check_program``): sums (items = line, lines = total, earlier phases), modes, rule
parameters, targets, milestones and share rules.

Exit codes: 0 the program can be activated (warnings, if any, are printed); 1 it has errors
(it would be refused), including a file that is not a readable program document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from ruralfund_claims.domain.claim_form import describe_item
from ruralfund_claims.domain.program import Program, check_program, decode_program_document
from ruralfund_common.errors import DomainError

__all__ = ["app", "read_program_file"]

EXIT_OK = 0
EXIT_ERRORS = 1

app = typer.Typer(
    name="program",
    help="Program files (示范项目): check sums, rules, targets, milestones and share rules.",
    no_args_is_help=True,
    add_completion=False,  # a sub-app: completion belongs to the main `ruralfund` CLI
)

FileArgument = Annotated[
    Path,
    typer.Argument(
        exists=True, dir_okay=False, readable=True, help="program file (.yaml or .json)"
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the check report as JSON.")]


@app.callback()
def _group() -> None:
    """Program files (示范项目)."""  # a callback keeps `program check` a sub-command


def read_program_file(path: Path) -> Any:
    """The document in a YAML or JSON file, with the same limits as the HTTP API."""
    media_type = "application/json" if path.suffix.lower() == ".json" else "application/yaml"
    return decode_program_document(path.read_bytes(), media_type)


@app.command("check")
def check(file: FileArgument, as_json: JsonOption = False) -> None:
    """Check a program file; exit 1 if it has errors (it could not be activated)."""
    try:
        checked = check_program(read_program_file(file))
        report = checked.to_dict()
        if checked.program is not None:
            report["claims"] = _claims(checked.program)
    except DomainError as exc:  # unreadable: not YAML/JSON, too large, aliases
        report = _unreadable(exc)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print_report(file, report)
        _print_claims(report.get("claims"))
    raise typer.Exit(EXIT_OK if report["can_activate"] else EXIT_ERRORS)


def _claims(program: Program) -> dict[str, Any]:
    """What claims under the reward items need (as GET /programs/{code}/items/{item} says)."""
    items = [describe_item(program, i) for i in program.items() if i.mode == "reward"]
    return {
        "published_on": program.published_on.isoformat() if program.published_on else None,
        "claims_from": items[0]["period"]["claims_from"] if items else None,
        "claims_until": items[0]["period"]["claims_until"] if items else None,
        "items": [
            {"code": i["code"], "claimable": i["claimable"], "kind": i["rule"]["kind"],
             "evidence": i["evidence_schema"]["required"], "paid_once": i["paid_once"]}
            for i in items if "rule" in i
        ],
    }  # fmt: skip


def _print_claims(claims: dict[str, Any] | None) -> None:
    if not claims:
        return
    published = f"published {claims['published_on'] or 'not stated'}"
    if claims["claims_from"] is None:
        typer.echo(f"claims  cover any month, quarter or year: no claim_period ({published})")
    else:
        until = claims["claims_until"] or "acceptance"
        typer.echo(f"claims  cover {claims['claims_from']} .. {until} ({published})")
    for item in claims["items"]:
        state = "" if item["claimable"] else " [not claimable: example, not opted in]"
        once = item["paid_once"]["per"]
        typer.echo(
            f"claim   {item['code']} ({item['kind']}, once per {once}): "
            f"{', '.join(item['evidence'])}{state}"
        )


def _unreadable(exc: DomainError) -> dict[str, Any]:
    issue = {
        "severity": "error",
        "code": exc.code,
        "path": "",
        "message": exc.message,
        "figures": {},
    }
    return {
        "program_code": None,
        "can_activate": False,
        "errors": [issue],
        "warnings": [],
        "ratios": [],
    }


def _print_report(file: Path, report: dict[str, Any]) -> None:
    for issue in report["errors"] + report["warnings"]:
        where = f" [{issue['path']}]" if issue["path"] else ""
        typer.echo(f"{issue['severity'].upper():7} {issue['code']}{where}: {issue['message']}")
    for ratio in report["ratios"]:
        bound = "<=" if ratio["bound"] == "max" else ">="
        typer.echo(
            f"ratio   {ratio['code']}: {ratio['share_percent']}% {bound} {ratio['limit_percent']}%"
            f" -> {ratio['status']}"
        )
    errors, warnings = len(report["errors"]), len(report["warnings"])
    verdict = "can be activated" if report["can_activate"] else "cannot be activated"
    code = report["program_code"] or file.name
    typer.echo(f"{code}: {verdict} ({errors} error(s), {warnings} warning(s))")
