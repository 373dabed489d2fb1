"""The ``ruralfund`` command: run services, the whole system for development, and admin tools."""

from __future__ import annotations

import sys

import typer

from . import cli_award, cli_calendar, cli_db, cli_deploy, cli_ledger, cli_program, cli_users
from .devrun import dev_command
from .serve import DEFAULT_PORTS, SERVICES, serve

__all__ = ["DEFAULT_PORTS", "SERVICES", "app", "main"]


app = typer.Typer(
    name="ruralfund",
    help="County E-commerce into Rural Areas demonstration fund (电子商务进农村综合示范): claims, ledger, logistics, publicity.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(cli_calendar.app, name="calendar", help="China's working-day calendar and publicity windows.")
app.add_typer(cli_users.app, name="users", help="Development people and tokens.")
app.add_typer(cli_program.app, name="program", help="Check a program definition (sums, modes, rules, ratio rules).")
app.add_typer(cli_award.app, name="award", help="Recompute an award from a program's rule and the evidence.")
app.add_typer(cli_ledger.app, name="ledger", help="Verify and reconcile the joint-account ledger.")
app.add_typer(cli_deploy.app, name="deploy",
              help="Operations: NATS authorization config, secrets, dead letters (list, redrive), re-publish.")
app.add_typer(cli_db.app, name="db", help="Database migrations, as the schema owner role.")
app.command("dev", help="Run the whole system on this machine (embedded NATS + PostgreSQL when no URLs are set).")(dev_command)


app.command("serve")(serve)


def main() -> None:
    app(prog_name="ruralfund")



if __name__ == "__main__":
    sys.exit(main())
