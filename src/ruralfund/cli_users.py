"""``ruralfund users``: create development people and print their bearer tokens.

The directory is a JSON file (``--users-file``, ``RURALFUND_USERS_FILE``, else the one ``ruralfund
dev`` writes, ``./var/dev/users.json``, falling back to ``./var/users.json`` if only that exists);
tokens are signed with ``RURALFUND_AUTH_JWT_SECRET`` so the services accept them.
``token`` prints the bare token so scripts can do ``TOKEN=$(ruralfund users token alice)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from ruralfund_common.auth import (
    DEFAULT_USERS_FILE,
    AuthConfigError,
    AuthSettings,
    Principal,
    Role,
    UserDirectory,
)
from ruralfund_common.errors import DomainError

from .serve import DEV_VAR_DIR

__all__ = ["app"]

app = typer.Typer(
    name="users",
    help="Development user directory: create people, list them, print bearer tokens.",
    no_args_is_help=True,
)

# Errors go to stderr so `$(ruralfund users token …)` captures nothing but the token.
_out = Console()
_err = Console(stderr=True)

UsersFileOption = Annotated[
    Path | None,
    typer.Option(
        "--users-file",
        envvar="RURALFUND_USERS_FILE",
        help="JSON users file [default: ./var/dev/users.json, what `ruralfund dev` writes]",
        dir_okay=False,
    ),
]
TtlOption = Annotated[
    int | None,
    typer.Option("--ttl", min=60, help="token lifetime in seconds [default: settings]"),
]


def _directory(users_file: Path | None) -> UserDirectory:
    """The users file given, else the one ``ruralfund dev`` writes under its var dir (before,
    this looked in ./var/users.json and did not find the people dev printed), else the old
    default if someone kept people there."""
    if users_file is None:
        dev_file = DEV_VAR_DIR / "users.json"
        users_file = dev_file if dev_file.exists() or not DEFAULT_USERS_FILE.exists() else DEFAULT_USERS_FILE
    return UserDirectory(users_file)


def _fail(message: str, code: int = 1) -> NoReturn:
    _err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _settings() -> AuthSettings:
    try:
        return AuthSettings()
    except ValidationError as exc:
        _fail(f"auth settings are invalid: {exc}")


def _token(directory: UserDirectory, who: str, ttl: int | None) -> str:
    try:
        return directory.token_for(who, _settings(), ttl)
    except AuthConfigError as exc:
        _fail(str(exc))


def _person_table(people: list[Principal], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False)
    for column in ("subject", "name", "roles", "credit code", "linked"):
        table.add_column(column, overflow="fold")
    for p in people:
        table.add_row(
            p.subject,
            p.name,
            ", ".join(sorted(p.roles)),
            p.credit_code or "",
            ", ".join(sorted(p.linked_credit_codes)),
        )
    return table


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="display name, unique in the directory")],
    role: Annotated[list[Role], typer.Option("--role", "-r", help="role (repeat for several)")],
    credit_code: Annotated[
        str | None, typer.Option("--credit-code", help="18-char credit code (role enterprise)")
    ] = None,
    linked: Annotated[
        list[str] | None,
        typer.Option("--linked", help="credit code of an enterprise this person must recuse from"),
    ] = None,
    users_file: UsersFileOption = None,
    ttl: TtlOption = None,
) -> None:
    """Create a person and print it with a bearer token."""
    directory = _directory(users_file)
    try:
        person = directory.create(
            name, role, credit_code=credit_code, linked_credit_codes=linked or ()
        )
    except DomainError as exc:
        _fail(exc.message)
    token = _token(directory, person.subject, ttl)
    _out.print(_person_table([person], title=f"created in {directory.path}"))
    _out.print("[bold]token:[/]")
    # Plain write, not rich: rich would fold a long token across lines when piped.
    typer.echo(token)


@app.command()
def token(
    name_or_id: Annotated[str, typer.Argument(help="name or subject id")],
    users_file: UsersFileOption = None,
    ttl: TtlOption = None,
) -> None:
    """Print a fresh bearer token (only the token) for a person."""
    directory = _directory(users_file)
    try:
        typer.echo(_token(directory, name_or_id, ttl))
    except DomainError as exc:
        _fail(exc.message)


@app.command("list")
def list_people(
    users_file: UsersFileOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List the people in the directory."""
    directory = _directory(users_file)
    try:
        people = directory.list()
    except DomainError as exc:
        _fail(exc.message)
    if as_json:
        rows = [
            {
                "subject": p.subject,
                "name": p.name,
                "roles": sorted(p.roles),
                "credit_code": p.credit_code,
                "linked_credit_codes": sorted(p.linked_credit_codes),
            }
            for p in people
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not people:
        _out.print(f"no people in {directory.path}; add one with [bold]ruralfund users create[/]")
        return
    _out.print(_person_table(people, title=str(directory.path)))
