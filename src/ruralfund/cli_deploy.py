"""``ruralfund deploy``: generate what an operator deploys (NATS config, fresh secrets).

The generated files hold no secret unless asked to: the NATS config names environment
variables that nats-server reads at start, and ``secrets`` prints fresh values for a ``.env``
(or a Kubernetes Secret) that never enters the repository.
"""

from __future__ import annotations

import secrets as _secrets
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from . import natsauth
from .natsauth import Credential, JetStreamOptions, ServerOptions

__all__ = ["app"]

app = typer.Typer(
    name="deploy",
    help="Deployment files: NATS authorization config, fresh secrets.",
    no_args_is_help=True,
)

#: Bytes of randomness in a generated JWT or form secret (the services want at least 32).
JWT_SECRET_BYTES = 48

NamespaceOption = Annotated[
    list[str] | None,
    typer.Option("--namespace", "-n",
                 help="deployment namespace (RURALFUND_NAMESPACE); repeat for several counties "
                      "on one NATS; omit for the plain deployment"),
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key or not rest:
            _fail(f"{what} must be NAME=VALUE, got {value!r}")
        found[key] = rest
    return found


def _credentials(passwords: dict[str, str], nkeys: dict[str, str]) -> dict[str, Credential]:
    creds: dict[str, Credential] = {}
    try:
        for user, password in passwords.items():
            if not natsauth.password_is_safe(password):
                _fail(f"password of {user} must start with a letter and be 24-128 letters and "
                      "digits (nats-server parses it as a config value; it also goes into URLs)")
            creds[user] = Credential(password=password)
        for user, key in nkeys.items():
            creds[user] = Credential(nkey=key)
    except ValueError as exc:
        _fail(str(exc))
    return creds


@app.command("nats-config")
def nats_config(
    namespace: NamespaceOption = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write here (default: stdout)",
                                             dir_okay=False)] = None,
    store_dir: Annotated[str, typer.Option(help="JetStream store directory")] = "/data",
    listen: Annotated[str, typer.Option(help="client address")] = "0.0.0.0:4222",
    http: Annotated[str, typer.Option(help="monitoring address; '' to disable")] = "0.0.0.0:8222",
    max_file_store: Annotated[str, typer.Option(help="JetStream disk limit")] = "10GB",
    max_memory_store: Annotated[str, typer.Option(help="JetStream memory limit")] = "256MB",
    password: Annotated[list[str] | None, typer.Option(
        help="USER=SECRET written literally into the file (tests only: the default reads "
             "$RURALFUND_NATS_<USER>_PASSWORD from nats-server's environment)")] = None,
    nkey: Annotated[list[str] | None, typer.Option(
        help="USER=UPUBLICKEY: this user logs in with an nkey (the public key is no secret)")] = None,
    command_sender: Annotated[list[str] | None, typer.Option(
        help="NAME=OWNER: an outside system allowed to send OWNER's commands "
             "(e.g. sorting_line=logistics)")] = None,
) -> None:
    """Write a nats-server config: JetStream (fsync always) and one user per service."""
    senders = _pairs(command_sender, "--command-sender")
    if bad := sorted(o for o in senders.values() if o not in natsauth.SERVICES):
        _fail(f"unknown owner(s) {bad}; choose from {', '.join(natsauth.SERVICES)}")
    server = ServerOptions(
        listen=listen or None, http=http or None,
        jetstream=JetStreamOptions(store_dir=store_dir, max_file_store=max_file_store,
                                   max_memory_store=max_memory_store),
    )
    creds = _credentials(_pairs(password, "--password"), _pairs(nkey, "--nkey"))
    try:
        text = natsauth.render_config(namespace or [""], credentials=creds,
                                      command_senders=senders, server=server)
    except ValueError as exc:
        _fail(str(exc))
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}", err=True)


@app.command("nats-helm-values")
def nats_helm_values(
    namespace: NamespaceOption = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write here (default: stdout)",
                                             dir_okay=False)] = None,
    secret: Annotated[str, typer.Option(help="Secret with one key per password variable")] =
        natsauth.NATS_USERS_SECRET,
    replicas: Annotated[int, typer.Option(min=3, help="NATS servers (odd)")] = 3,
    pvc_size: Annotated[str, typer.Option(help="JetStream volume per server")] = "20Gi",
    command_sender: Annotated[list[str] | None, typer.Option(help="NAME=OWNER, as above")] = None,
) -> None:
    """Values for the official NATS Helm chart: 3-node JetStream, the same users and rights."""
    import yaml

    try:
        values = natsauth.helm_values(namespace or [""], secret_name=secret, replicas=replicas,
                                      pvc_size=pvc_size,
                                      command_senders=_pairs(command_sender, "--command-sender"))
    except (ValueError, AssertionError) as exc:
        _fail(str(exc))
    text = _HELM_HEADER + yaml.safe_dump(values, sort_keys=False, width=100)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}", err=True)


_HELM_HEADER = """\
# Values for the official NATS chart (nats/nats 2.x), generated by
# `ruralfund deploy nats-helm-values`; edit the generator, not this file.
# helm upgrade --install nats nats/nats -n nats -f <this file>   (deploy/README.md)
"""


@app.command("secrets")
def secrets(namespace: NamespaceOption = None) -> None:
    """Print fresh secrets as .env lines: NATS users, PostgreSQL roles, JWT and form secrets.

    ``ruralfund deploy secrets >> .env`` once per installation; keep the file out of git.
    """
    lines = [f"{natsauth.password_env_var('', 'ops')}={natsauth.new_password()}"]
    for ns in namespace or [""]:
        for svc in natsauth.SERVICES:
            lines.append(f"{natsauth.password_env_var(ns, svc)}={natsauth.new_password()}")
    for svc in natsauth.SERVICES:  # one PostgreSQL role per service (deploy/compose/postgres)
        lines.append(f"POSTGRES_{svc.upper()}_PASSWORD={natsauth.new_password()}")
    lines.append(f"POSTGRES_PASSWORD={natsauth.new_password()}")
    lines.append(f"RURALFUND_AUTH_JWT_SECRET={_secrets.token_urlsafe(JWT_SECRET_BYTES)}")
    lines.append(f"RURALFUND_NOTIFY_FORM_SECRET={_secrets.token_urlsafe(JWT_SECRET_BYTES)}")
    typer.echo("\n".join(lines))
