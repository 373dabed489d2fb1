"""``ruralfund deploy``: what an operator deploys (NATS config, secrets) and operates (DLQ).

The generated files hold no secret unless asked to: the NATS config names environment
variables that nats-server reads at start, and ``secrets`` prints fresh values for a ``.env``
(or a Kubernetes Secret) that never enters the repository.

The operating commands (``dlq-list``, ``dlq-redrive``, ``republish``) talk to NATS as the
``ops`` user (``--nats-url`` or ``RURALFUND_OPS_NATS_URL``); docs/runbook.md says when to use them.
``gaps`` and ``gap-ack`` read the consumers' accepted sequence gaps from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets as _secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from . import certs as certs_mod
from . import natsauth
from .natsauth import Credential, JetStreamOptions, ServerOptions, TlsOptions

__all__ = ["app"]

app = typer.Typer(
    name="deploy",
    help="Deployment files (NATS authorization, secrets) and operations (dead letters, re-publish, accepted gaps).",
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


SubscriberOption = Annotated[
    list[str] | None,
    typer.Option("--subscriber",
                 help="read-only outside subscriber (NATS user; its durable is ext_<user>); repeat "
                      "for several; default: one named 'subscriber' (docs/integrating.md)"),
]


def _subscribers(names: list[str] | None) -> tuple[str, ...]:
    try:
        for name in names or []:
            natsauth.subscriber_durable(name)  # checks the name
    except ValueError as exc:
        _fail(str(exc))
    return tuple(names) if names else natsauth.DEFAULT_SUBSCRIBERS


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
    subscriber: SubscriberOption = None,
    tls_cert: Annotated[str | None, typer.Option(
        help="server certificate as nats-server sees it (e.g. /etc/nats/tls/nats-server.crt): "
             "clients must then use TLS; with --tls-key and --tls-ca (ruralfund deploy certs)")] = None,
    tls_key: Annotated[str | None, typer.Option(help="the server certificate's key")] = None,
    tls_ca: Annotated[str | None, typer.Option(help="the CA clients' certificates are checked against")] = None,
    tls_verify: Annotated[bool, typer.Option(
        help="require a client certificate from --tls-ca of every client (mutual TLS)")] = True,
) -> None:
    """Write a nats-server config: JetStream (fsync always) and one user per service."""
    tls_files = (tls_cert, tls_key, tls_ca)
    if any(tls_files) and not all(tls_files):
        _fail("--tls-cert, --tls-key and --tls-ca go together")
    senders = _pairs(command_sender, "--command-sender")
    if bad := sorted(o for o in senders.values() if o not in natsauth.SERVICES):
        _fail(f"unknown owner(s) {bad}; choose from {', '.join(natsauth.SERVICES)}")
    server = ServerOptions(
        listen=listen or None, http=http or None,
        jetstream=JetStreamOptions(store_dir=store_dir, max_file_store=max_file_store,
                                   max_memory_store=max_memory_store),
        tls=TlsOptions(tls_cert, tls_key, tls_ca, verify=tls_verify) if tls_cert and tls_key and tls_ca else None,
    )
    creds = _credentials(_pairs(password, "--password"), _pairs(nkey, "--nkey"))
    try:
        text = natsauth.render_config(namespace or [""], credentials=creds,
                                      command_senders=senders, subscribers=_subscribers(subscriber),
                                      server=server)
    except ValueError as exc:
        _fail(str(exc))
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}", err=True)


@app.command("certs")
def certs(
    out: Annotated[Path, typer.Option("--out", "-o", help="directory for the CA, keys and certificates",
                                      file_okay=False)] = Path("tls"),
    nats_host: Annotated[list[str] | None, typer.Option(
        help="another name or address clients reach NATS by (besides nats, localhost, 127.0.0.1); repeat")] = None,
    postgres_host: Annotated[list[str] | None, typer.Option(
        help="another name or address clients reach PostgreSQL by (besides postgres, localhost, "
             "127.0.0.1); repeat")] = None,
    client: Annotated[list[str] | None, typer.Option(
        help="client certificate to make (CN = the NATS user / PostgreSQL role); repeat; "
             "default: claims, funds, logistics, notify, ops")] = None,
    days: Annotated[int, typer.Option(help="validity of the server and client certificates")] = certs_mod.LEAF_DAYS,
) -> None:
    """A private CA and TLS certificates for NATS and PostgreSQL (servers) and the services
    (clients). Run again into the same directory to renew or add a host: the CA is kept."""
    try:
        bundle = certs_mod.make_bundle(out, nats_hosts=nats_host or (), postgres_hosts=postgres_host or (),
                                       clients=client or certs_mod.DEFAULT_CLIENTS, days=days)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(f"{'kept the CA in' if bundle.ca_reused else 'made a new CA in'} {out}/ca.crt; wrote "
               + ", ".join(f.name for f in bundle.files), err=True)
    typer.echo("keys are 0600: hand each one only to its server or service (deploy/README.md, TLS)", err=True)


@app.command("smtp-check")
def smtp_check(
    to: Annotated[str, typer.Option("--to", help="where the test mail goes (the operator's own mailbox)")],
) -> None:
    """Send one test mail with notify's mail settings (RURALFUND_NOTIFY_SMTP_*, _MAIL_FROM), as
    notify sends: run it where notify runs (docker compose exec notify ruralfund deploy smtp-check
    --to …). Exits non-zero with the server's answer if it is not accepted."""
    from email.message import EmailMessage

    from pydantic import ValidationError
    from ruralfund_notify.adapters.smtp import MailDeliveryError, SmtpMailer
    from ruralfund_notify.settings import NotifySettings

    try:
        settings = NotifySettings()
    except ValidationError as exc:
        _fail(f"notify's mail settings: {exc}")
    message = EmailMessage()
    message["Subject"] = "电子商务进农村综合示范资金系统：邮件测试"
    message["From"] = settings.mail_from
    message["To"] = to
    message.set_content("这是一封测试邮件：系统能够通过本邮件服务器向企业、异议人和县商务局发送通知。无需回复。\n"
                        "(ruralfund deploy smtp-check)")
    try:
        SmtpMailer(settings).send(message, to)
    except MailDeliveryError as exc:
        _fail(f"{settings.smtp_host}:{settings.smtp_port} did not take the mail: {exc}")
    typer.echo(f"{settings.smtp_host}:{settings.smtp_port} accepted a test mail to {to} "
               f"(from {settings.mail_from_address}); check that it arrives")


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
    subscriber: SubscriberOption = None,
) -> None:
    """Values for the official NATS Helm chart: 3-node JetStream, the same users and rights."""
    import yaml

    try:
        values = natsauth.helm_values(namespace or [""], secret_name=secret, replicas=replicas,
                                      pvc_size=pvc_size,
                                      command_senders=_pairs(command_sender, "--command-sender"),
                                      subscribers=_subscribers(subscriber))
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
def secrets(
    namespace: NamespaceOption = None,
    command_sender: Annotated[list[str] | None, typer.Option(
        help="NAME=OWNER: also an event signing key for an outside system sending OWNER's "
             "commands (e.g. sorting_line=logistics), trusted for <owner>.cmd.> only")] = None,
    subscriber: SubscriberOption = None,
) -> None:
    """Print fresh secrets as .env lines: NATS users, PostgreSQL roles, JWT, form and console session secrets,
    event signing keys and the trusted public keys.

    ``ruralfund deploy secrets >> .env`` once per installation; keep the file out of git.
    """
    senders = _pairs(command_sender, "--command-sender")
    if bad := sorted(o for o in senders.values() if o not in natsauth.SERVICES):
        _fail(f"unknown owner(s) {bad}; choose from {', '.join(natsauth.SERVICES)}")
    lines = [f"{natsauth.password_env_var('', 'ops')}={natsauth.new_password()}"]
    for ns in namespace or [""]:
        for who in (*natsauth.SERVICES, *_subscribers(subscriber)):
            lines.append(f"{natsauth.password_env_var(ns, who)}={natsauth.new_password()}")
    for svc in natsauth.SERVICES:  # per service a runtime and an owner role (deploy/compose/postgres)
        lines.append(f"POSTGRES_{svc.upper()}_PASSWORD={natsauth.new_password()}")
        lines.append(f"POSTGRES_{svc.upper()}_OWNER_PASSWORD={natsauth.new_password()}")
    lines.append(f"POSTGRES_PASSWORD={natsauth.new_password()}")
    lines.append(f"RURALFUND_AUTH_JWT_SECRET={_secrets.token_urlsafe(JWT_SECRET_BYTES)}")
    lines.append(f"RURALFUND_NOTIFY_FORM_SECRET={_secrets.token_urlsafe(JWT_SECRET_BYTES)}")
    lines.append(f"RURALFUND_CONSOLE_SESSION_SECRET={_secrets.token_urlsafe(JWT_SECRET_BYTES)}")
    try:
        pairs = natsauth.event_keys(namespace or [""], senders, date.today())
    except ValueError as exc:
        _fail(str(exc))
    # quoted: the trusted keys hold '>' (a subject wildcard), which a shell sourcing .env would
    # take for a redirection; docker compose reads single-quoted values literally
    lines += [f"{var}='{value}'" if "TRUSTED" in var else f"{var}={value}" for var, value in pairs]
    typer.echo("\n".join(lines))


@app.command("event-key")
def event_key(
    signer: Annotated[str, typer.Argument(help="who signs: a service (claims) or an outside system")],
    scope: Annotated[str | None, typer.Option(
        help="subjects it may sign (default: <signer>.> for a service; give e.g. 'logistics.cmd.>' "
             "for an outside system)")] = None,
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="RURALFUND_NAMESPACE (empty: none)")] = "",
) -> None:
    """A new signing key for one signer (key rotation, docs/runbook.md): prints its secret
    setting and the entry to ADD to the trusted keys of every service (keep the old one there
    until nothing signed with it is left to consume or redrive)."""
    if scope is None:
        if signer not in natsauth.SERVICES:
            _fail(f"{signer!r} is not a service: give --scope (e.g. 'logistics.cmd.>')")
        scope = f"{signer}.>"
    try:
        secret, entry = natsauth.new_event_key(namespace, signer, date.today(), scope)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(f"{natsauth.event_key_env_var(namespace, signer)}={secret}")
    typer.echo(f"# append to {natsauth.trusted_keys_env_var(namespace)} (comma-separated):\n{entry}")


# --------------------------------------------------------------------------- operating

#: How long one NATS request may take before the command gives up (bounded: no hang).
OPS_TIMEOUT_SECONDS = 10.0
#: The relay answers at most this many rows per re-publish request (outbox.REPUBLISH_MAX_ROWS).
REPUBLISH_CHUNK = 10_000
MAX_DLQ_LIST = 10_000
_DLQ_PREFIX = "Ruralfund-Dlq-"
_DLQ_HEADERS = ("Ruralfund-Dlq-Reason", "Ruralfund-Dlq-Consumer", "Ruralfund-Dlq-Subject",
                "Ruralfund-Dlq-Deliveries")

NatsUrlOption = Annotated[str, typer.Option(
    "--nats-url", envvar="RURALFUND_OPS_NATS_URL",
    help="NATS as the ops user, e.g. nats://ops:PASSWORD@127.0.0.1:4222")]
OneNamespaceOption = Annotated[str, typer.Option(
    "--namespace", "-n", help="RURALFUND_NAMESPACE of the deployment (empty: none)")]


async def _connect(url: str) -> Any:
    import nats
    from ruralfund_common.settings import nats_servers
    from ruralfund_common.tls import nats_tls_options

    # TLS as the services' (RURALFUND_NATS_TLS_CA_FILE; the ops client certificate for a server
    # that verifies clients: RURALFUND_NATS_TLS_CERT_FILE / _KEY_FILE, ops.crt from deploy certs).
    tls = nats_tls_options(*(os.environ.get(f"RURALFUND_NATS_TLS_{part}_FILE") or None
                             for part in ("CA", "CERT", "KEY")))
    # Fail fast: an operator's typo must not hang for the client's default two minutes.
    return await nats.connect(nats_servers(url), connect_timeout=OPS_TIMEOUT_SECONDS, max_reconnect_attempts=1,
                              reconnect_time_wait=0.2, allow_reconnect=False, **tls)


async def _dead_letters(url: str, namespace: str, limit: int) -> list[dict[str, Any]]:
    from nats.js.errors import NotFoundError
    from ruralfund_common.messaging.subjects import Namespace

    nc = await _connect(url)
    try:
        js = nc.jetstream(timeout=OPS_TIMEOUT_SECONDS)
        stream = Namespace(namespace).dlq_stream
        state = (await js.stream_info(stream)).state
        found: list[dict[str, Any]] = []
        seq = state.last_seq
        while seq >= state.first_seq and len(found) < limit and state.messages:
            try:
                msg = await js.get_msg(stream, seq)
            except NotFoundError:  # deleted (drained) message: a hole in the sequence
                seq -= 1
                continue
            headers = msg.headers or {}
            # "subject": the original subject (header); "dlq_subject": where it was parked
            found.append({"seq": seq, "dlq_subject": msg.subject,
                          **{h.removeprefix("Ruralfund-Dlq-").lower(): headers.get(h)
                             for h in _DLQ_HEADERS}})
            seq -= 1
        return found
    finally:
        await nc.close()


@app.command("dlq-list")
def dlq_list(
    nats_url: NatsUrlOption,
    namespace: OneNamespaceOption = "",
    limit: Annotated[int, typer.Option(min=1, max=MAX_DLQ_LIST)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Dead letters, newest first: stream sequence, consumer, original subject, reason."""
    letters = asyncio.run(_dead_letters(nats_url, namespace, limit))
    if as_json:
        typer.echo(json.dumps(letters, ensure_ascii=False))
        return
    for d in letters:
        typer.echo(f"{d['seq']:>8}  {d['consumer']}  {d['subject']}  deliveries={d['deliveries']}"
                   f"\n          {d['reason']}")
    typer.echo(f"{len(letters)} dead letter(s)", err=True)


def _operator_key(namespace: str) -> Any:
    """The operator's event key (``deploy secrets`` writes it), else the development one, which
    production services do not trust (their consumers then dead-letter the redrive again)."""
    from ruralfund_common.messaging.signing import DEV_OPERATOR, SigningKey

    secret = os.environ.get(natsauth.event_key_env_var(namespace, DEV_OPERATOR))
    if secret:
        return SigningKey.parse(secret)
    typer.echo(f"{natsauth.event_key_env_var(namespace, DEV_OPERATOR)} is not set: signing the redrive with "
               "the development operator key (production services refuse it)", err=True)
    return SigningKey.dev(DEV_OPERATOR)


async def _redrive(url: str, namespace: str, seq: int, delete: bool) -> dict[str, Any]:
    from ruralfund_common.messaging.envelope import (
        HEADER_DLQ_MSG_ID,
        HEADER_MSG_ID,
        HEADER_REDRIVEN,
    )
    from ruralfund_common.messaging.subjects import Namespace, owner_of

    ns = Namespace(namespace)
    nc = await _connect(url)
    try:
        js = nc.jetstream(timeout=OPS_TIMEOUT_SECONDS)
        msg = await js.get_msg(ns.dlq_stream, seq)
        headers = dict(msg.headers or {})
        logical = headers.get("Ruralfund-Dlq-Subject")
        if not logical:
            raise ValueError(f"DLQ message {seq} has no Ruralfund-Dlq-Subject header")
        # Exactly as the producer signed it: same payload, Nats-Msg-Id and Ruralfund-Seq (the
        # signature covers them; ops holds no signing key). Ruralfund-Redriven-From tells the
        # consumer to apply it outside the sequence check (its cursor is already past it).
        out = {k: v for k, v in headers.items() if not k.startswith(_DLQ_PREFIX)}
        out.pop(HEADER_MSG_ID, None)
        if original_id := headers.get(HEADER_DLQ_MSG_ID):
            out[HEADER_MSG_ID] = original_id
        out[HEADER_REDRIVEN] = f"{ns.dlq_stream}:{seq}"
        # the mark is the operator's to sign: consumers refuse an unsigned one (UNSIGNED_REDRIVE)
        out = _operator_key(namespace).sign_redrive(ns.subject(logical), msg.data or b"", out)
        ack = await js.publish(ns.subject(logical), msg.data or b"", headers=out,
                               stream=ns.stream(owner_of(logical)))
        if ack.duplicate:
            raise ValueError(
                f"JetStream dropped it as a duplicate of message id {original_id!r}: the original was "
                f"published less than the stream's duplicate window (2 minutes) ago; run this again then")
        if delete:
            await js.delete_msg(ns.dlq_stream, seq)
        envelope_id = json.loads(msg.data or b"{}").get("id") if msg.data else None
        return {"subject": ns.subject(logical), "stream": ack.stream, "stream_seq": ack.seq,
                "consumer": headers.get("Ruralfund-Dlq-Consumer"), "message_id": envelope_id}
    finally:
        await nc.close()


@app.command("dlq-redrive")
def dlq_redrive(
    seq: Annotated[int, typer.Argument(min=1, help="the DLQ stream sequence (dlq-list)")],
    nats_url: NatsUrlOption,
    namespace: OneNamespaceOption = "",
    delete: Annotated[bool, typer.Option(help="remove it from the DLQ once re-published")] = False,
) -> None:
    """Publish a dead letter again on its original subject, after its cause was fixed.

    The consumer that dead-lettered it recorded it in its inbox: delete that row first
    (the SQL is printed), or the consumer will see a duplicate and do nothing.
    """
    try:
        done = asyncio.run(_redrive(nats_url, namespace, seq, delete))
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(json.dumps(done, ensure_ascii=False))
    schema = (done["consumer"] or "").split("__", 1)[0]
    typer.echo(f"-- before this, in the consumer's schema:\nDELETE FROM {schema}.inbox WHERE "
               f"consumer = '{done['consumer']}' AND message_id = '{done['message_id']}' "
               "AND outcome = 'dead_lettered';", err=True)


async def _republish(url: str, namespace: str, owner: str, subject: str, lo: int,
                     hi: int) -> list[dict[str, Any]]:
    from ruralfund_common.messaging import repair
    from ruralfund_common.messaging.signing import SignatureRejected, TrustedKeys
    from ruralfund_common.messaging.subjects import Namespace

    trusted_text = os.environ.get(natsauth.trusted_keys_env_var(namespace))
    trusted = TrustedKeys.parse(trusted_text) if trusted_text else TrustedKeys.dev()
    channel = Namespace(namespace).republish_subject(owner)
    nc = await _connect(url)
    answers = []
    try:
        for start in range(lo, hi + 1, REPUBLISH_CHUNK):
            nonce = repair.new_nonce()
            body = {"subject": subject, "from_seq": start,
                    "to_seq": min(start + REPUBLISH_CHUNK - 1, hi)}
            reply = await nc.request(channel, json.dumps({**body, "nonce": nonce}).encode(),
                                     timeout=OPS_TIMEOUT_SECONDS * 3)
            # the owner signs its answer (repair channel); say whether this one is genuine
            try:
                signed_by = repair.check_answer(
                    trusted, channel=channel, owner=owner, subject=subject, nonce=nonce,
                    kind=repair.KIND_REPUBLISH, data=reply.data, headers=reply.headers or {}).key_id
            except SignatureRejected as r:
                signed_by = f"NOT VERIFIED ({r.code})"
            answers.append({**body, **json.loads(reply.data), "signed_by": signed_by})
        return answers
    finally:
        await nc.close()


@app.command("republish")
def republish(
    owner: Annotated[str, typer.Argument(help="the producing service")],
    subject: Annotated[str, typer.Argument(help="logical subject, e.g. claims.evt.claim_approved.v1")],
    nats_url: NatsUrlOption,
    from_seq: Annotated[int, typer.Option(min=1)] = 1,
    to_seq: Annotated[int, typer.Option(min=1)] = 1,
    namespace: OneNamespaceOption = "",
) -> None:
    """Ask a producer to re-publish a range of its retained outbox (consumers skip what they
    already applied), e.g. after a stream was lost or re-created."""
    if owner not in natsauth.SERVICES or not subject.startswith(f"{owner}."):
        _fail(f"{subject!r} is not a subject of a service named {owner!r}")
    if to_seq < from_seq:
        _fail("--to-seq must not be below --from-seq")
    import nats.errors

    try:
        answers = asyncio.run(_republish(nats_url, namespace, owner, subject, from_seq, to_seq))
    except (TimeoutError, nats.errors.Error, OSError) as exc:  # producer not running
        _fail(f"no answer from {owner}'s outbox relay: {exc!r}")
    for answer in answers:
        typer.echo(json.dumps(answer))


# --------------------------------------------------------------------------- accepted gaps

GapsDatabaseUrl = Annotated[str | None, typer.Option(
    "--database-url", envvar="DATABASE_URL",
    help="PostgreSQL holding the services' schemas (an operator's login) [default: DATABASE_URL]")]
SchemaOption = Annotated[list[str] | None, typer.Option(
    "--schema", help="a consuming service's schema; repeat; default: every service")]
MAX_GAPS_LISTED = 10_000


async def _gaps(dsn: str, schemas: list[str], include_acknowledged: bool) -> list[dict[str, Any]]:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=OPS_TIMEOUT_SECONDS)
    try:
        found: list[dict[str, Any]] = []
        for schema in schemas:
            if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f'"{schema}".inbox_gaps'):
                continue  # that service never started (or predates gap records)
            rows = await conn.fetch(
                f'SELECT * FROM "{schema}".inbox_gaps WHERE $1 OR acknowledged_at IS NULL ORDER BY id LIMIT $2',
                include_acknowledged, MAX_GAPS_LISTED)
            found += [{"schema": schema, **{k: _plain(v) for k, v in dict(r).items()}} for r in rows]
        return found
    finally:
        await conn.close()


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _gap_schemas(schemas: list[str] | None) -> list[str]:
    chosen = schemas or list(natsauth.SERVICES)
    for schema in chosen:
        if not schema.replace("_", "").isalnum():
            _fail(f"bad schema name {schema!r}")
    return chosen


@app.command("gaps")
def gaps(
    database_url: GapsDatabaseUrl = None,
    schema: SchemaOption = None,
    include_acknowledged: Annotated[bool, typer.Option("--all", help="also the acknowledged ones")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Sequence gaps consumers accepted: producer sequences they never applied because the
    owner said (signed) it had pruned them. Exit 1 while any is not acknowledged
    (docs/runbook.md, "A sequence gap was accepted")."""
    if not database_url:
        _fail("give --database-url or set DATABASE_URL")
    try:
        found = asyncio.run(_gaps(database_url, _gap_schemas(schema), include_acknowledged))
    except (OSError, TimeoutError) as exc:
        _fail(f"cannot reach PostgreSQL: {exc!r}")
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False))
    else:
        for g in found:
            state = f"acknowledged {g['acknowledged_at']} by {g['acknowledged_by']}" if g["acknowledged_at"] \
                else "OPEN"
            typer.echo(f"{g['schema']}#{g['id']}  {g['consumer']}  {g['subject']}  seq {g['from_seq']}..{g['to_seq']}"
                       f"  ({g['to_seq'] - g['from_seq'] + 1} never applied)  accepted {g['accepted_at']}"
                       f"  signed by {g['signed_by']}  {state}")
        typer.echo(f"{len(found)} gap(s)", err=True)
    if any(g["acknowledged_at"] is None for g in found):
        raise typer.Exit(1)


async def _ack_gap(dsn: str, schema: str, gap_id: int, by: str, note: str) -> bool:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=OPS_TIMEOUT_SECONDS)
    try:
        done = await conn.fetchval(
            f'UPDATE "{schema}".inbox_gaps SET acknowledged_at = now(), acknowledged_by = $2, note = $3 '
            "WHERE id = $1 AND acknowledged_at IS NULL RETURNING id", gap_id, by, note)
        return done is not None
    finally:
        await conn.close()


@app.command("gap-ack")
def gap_ack(
    schema: Annotated[str, typer.Argument(help="the consuming service's schema (from `deploy gaps`)")],
    gap_id: Annotated[int, typer.Argument(min=1, help="the gap's id (from `deploy gaps`)")],
    by: Annotated[str, typer.Option("--by", help="who checked it")],
    note: Annotated[str, typer.Option("--note", help="what was found and done (runbook)")],
    database_url: GapsDatabaseUrl = None,
) -> None:
    """Record that an operator dealt with an accepted gap (what the runbook asks first)."""
    if not database_url:
        _fail("give --database-url or set DATABASE_URL")
    if not by.strip() or not note.strip():
        _fail("--by and --note must say who checked the gap and what they found")
    if not asyncio.run(_ack_gap(database_url, _gap_schemas([schema])[0], gap_id, by.strip(), note.strip())):
        _fail(f"no open gap {gap_id} in schema {schema}")
    typer.echo(f"gap {schema}#{gap_id} acknowledged by {by.strip()}")


# --------------------------------------------------------------------------- after a restore


async def _after_restore(service: str, dsn: str, url: str, namespace: str, apply: bool) -> tuple[Any, Any]:
    import asyncpg
    from ruralfund_common.messaging.signing import TrustedKeys
    from ruralfund_common.messaging.subjects import Namespace

    from .restore_check import apply_report, check_restore

    trusted_text = os.environ.get(natsauth.trusted_keys_env_var(namespace))
    trusted = TrustedKeys.parse(trusted_text) if trusted_text else TrustedKeys.dev()
    conn = await asyncpg.connect(dsn, timeout=OPS_TIMEOUT_SECONDS)
    try:
        nc = await _connect(url)
        try:
            report = await check_restore(conn, nc.jetstream(timeout=OPS_TIMEOUT_SECONDS), service=service,
                                         namespace=Namespace(namespace), trusted=trusted)
        finally:
            await nc.close()
        applied = await apply_report(conn, report) if apply and not report.collisions else None
        return report, applied
    finally:
        await conn.close()


@app.command("after-restore")
def after_restore(
    service: Annotated[str, typer.Argument(help="the service whose database was restored (funds)")],
    nats_url: NatsUrlOption,
    database_url: Annotated[str | None, typer.Option(
        "--database-url", envvar="DATABASE_URL",
        help="the restored PostgreSQL holding the service's schema (its owner or a superuser)")] = None,
    namespace: OneNamespaceOption = "",
    apply: Annotated[bool, typer.Option("--apply", help="write the published events back into the outbox "
                                                         "and continue its sequences after them")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """After a point-in-time restore of one service's database, before the service starts: the
    events it had published after the restore point (its stream has them, its outbox not).
    Exit 1 while any of them moved money (a person reconciles with the bank statement:
    docs/runbook.md, "Restore funds' database to a point in time"); 2 when the outbox and the
    stream disagree (the service ran after the restore: nothing is changed)."""
    if service not in natsauth.SERVICES:
        _fail(f"no service named {service!r}")
    if not database_url:
        _fail("give --database-url or set DATABASE_URL")
    try:
        report, applied = asyncio.run(_after_restore(service, database_url, nats_url, namespace, apply))
    except (OSError, TimeoutError) as exc:
        _fail(f"cannot reach PostgreSQL or NATS: {exc!r}")
    if as_json:
        typer.echo(json.dumps({**report.as_dict(), "applied": applied}, ensure_ascii=False))
    else:
        for p in report.orphans:
            mark = "MONEY " if p.money else ""
            extra = "".join(f"  {k}={v}" for k, v in p.summary().items()
                            if k in ("award_id", "payment_id", "amount_fen", "payee_name"))
            typer.echo(f"{mark}{p.subject} seq {p.seq}  {p.time}  id {p.id}{extra}")
        for line in report.collisions:
            typer.echo(f"COLLISION {line}")
        for line in report.unverified:
            typer.echo(f"UNVERIFIED {line}")
        typer.echo(f"{len(report.orphans)} event(s) published after the restore point "
                   f"({len(report.money)} moved money), {len(report.unsent)} restored as unsent but published; "
                   + (f"written back: {applied}" if applied else "nothing changed (--apply writes them back)"),
                   err=True)
    if report.collisions:
        _fail("the restored outbox and the stream disagree: the service ran after the restore (runbook)")
    if report.money:
        raise typer.Exit(1)
