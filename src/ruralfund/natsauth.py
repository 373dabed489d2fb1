"""nats-server configuration with one user per service, each allowed only what it needs.

Pure: no I/O, no NATS client. ``ruralfund deploy nats-config`` writes the text this module
renders; docker compose mounts it and the Kubernetes values embed the same permissions.

Why per-service users: without them any service (or anyone holding the one shared password)
can publish ``claims.evt.claim_approved.v1`` and make funds reserve money for a claim nobody
approved. With them a service can publish only its own events, dead-letter only as itself,
read only the streams of the owners it consumes from, and delete no stream.

What each service does on NATS (``ruralfund_common.messaging``), hence its permissions:

- outbox relay: ensures its own stream (``$JS.API.STREAM.INFO|CREATE|UPDATE.<stream>``), reads
  the last message of each of its subjects at start (``STREAM.MSG.GET.<stream>``: is the
  stream ahead of a restored outbox?),
  publishes ``<owner>.evt.>`` with PubAcks coming back on ``_INBOX.>``, answers re-publish
  requests on ``_rf.republish.<owner>`` (core NATS; the answer goes to the requester's inbox,
  allowed by ``allow_responses``). Only the owner may subscribe there: the ops user may send
  requests (``deploy republish``) but is denied listening, so no other credential can answer
  (the answers are signed as well);
- consumers: ensure the streams of the owners they read and the DLQ stream, create or look up
  their durable pull consumers (``$JS.API.CONSUMER.INFO|CREATE.<stream>.<durable>[.<filter>]``),
  pull (``$JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>``), ack/nak (``$JS.ACK.<stream>.>``),
  ask a producer to re-publish (``_rf.republish.<producer>``), dead-letter on
  ``dlq.<service>.>`` into the DLQ stream.

Durable names are scoped per stream with a wildcard, not listed one by one: a new handler on
an owner the service already reads then needs no new server config (a stale config would
otherwise stop the service at start-up, a deploy-ordering trap). The filter-subject token of
``CONSUMER.CREATE`` is scoped, so a consumer can only be made on events (or, on the service's
own stream, on its commands).

Outside subscribers (``subscriber`` by default, more with ``--subscriber NAME``) are read-only:
each may look up, create and pull from one durable consumer per owner's stream, named
``ext_<user>`` (``subscriber_durable``) and filtered on that owner's events, ack its own
messages, and receive on its own inbox prefix ``_INBOX_<user>`` (``subscriber_inbox``; nats-py's
``inbox_prefix=``). NATS permissions match whole subject tokens only, so "any consumer whose
name starts with ext_" cannot be said: the name is exact, and with it the subscriber can neither
touch a service's consumer (same stream, other name) nor ack a service's messages
(``$JS.ACK.<stream>.<its durable>.>`` only). It publishes no event, command or dead letter, never
reaches the repair channel, and sees no other client's replies (not ``_INBOX.>``).

Secrets: by default the config holds no password at all, only ``$VARIABLE`` references that
nats-server resolves from its own environment at start (and refuses to start when one is
missing). Literal passwords (tests) and public nkeys (not secret) are also supported.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

__all__ = [
    "CONSUMES",
    "SERVICES",
    "Credential",
    "JetStreamOptions",
    "Permissions",
    "ServerOptions",
    "TlsOptions",
    "command_sender_permissions",
    "event_key_env_var",
    "event_keys",
    "helm_values",
    "new_event_key",
    "new_password",
    "password_env_var",
    "password_is_safe",
    "render_config",
    "repair_channels",
    "service_permissions",
    "stream_name",
    "subject",
    "subscriber_durable",
    "subscriber_inbox",
    "subscriber_permissions",
    "trusted_keys_env_var",
    "user_name",
]

SERVICES = ("claims", "funds", "logistics", "notify")

# Which owners' events each service consumes (see each service's entrypoints/subscribers.py;
# tests/deploy/test_nats_authz.py checks this table against the code). Every service may also
# consume commands on its own stream (``<owner>.cmd.>``, e.g. logistics.cmd.record_scans.v1).
CONSUMES: Mapping[str, tuple[str, ...]] = {
    "claims": ("funds", "logistics"),
    "funds": ("claims", "notify"),
    "logistics": (),
    "notify": ("claims", "funds", "logistics"),
}

#: The read-only identity for outside subscribers every generated config has (docs/integrating.md).
DEFAULT_SUBSCRIBERS: tuple[str, ...] = ("subscriber",)
SUBSCRIBER_DURABLE_PREFIX = "ext_"

OPS_USER = "ops"
JS_API = "$JS.API"
INBOX = "_INBOX.>"


# --------------------------------------------------------------------------- names


def subject(namespace: str, logical: str) -> str:
    """Physical subject, as ``Namespace.subject`` builds it (kept in step by a test)."""
    return f"{namespace}.{logical}" if namespace else logical


def stream_name(namespace: str, owner: str) -> str:
    """Stream name, as ``Namespace.stream`` builds it: RURALFUND_CLAIMS or <NS>_CLAIMS."""
    return f"{namespace.upper()}_{owner.upper()}" if namespace else f"RURALFUND_{owner.upper()}"


def user_name(namespace: str, who: str) -> str:
    """NATS user of a service (or ops) in a namespace: ``claims`` or ``xinping_claims``."""
    return f"{namespace}_{who}" if namespace else who


def password_env_var(namespace: str, who: str) -> str:
    """Environment variable nats-server reads the user's password from."""
    middle = f"{namespace.upper()}_" if namespace else ""
    return f"RURALFUND_NATS_{middle}{who.upper()}_PASSWORD"


# nats-server parses a substituted environment variable as a config value, not as a string:
# "-Wx..." fails ("Expected a digit"), "1234" becomes a number, "true" a boolean. Passwords
# that start with a letter and hold only letters and digits always parse as strings, and are
# also safe in a nats://user:password@host URL without escaping.
_SAFE_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9]{23,127}$")
_PASSWORD_BYTES = 24


def password_is_safe(password: str) -> bool:
    """True if ``password`` survives nats-server's variable substitution and a URL as-is."""
    return bool(_SAFE_PASSWORD.match(password)) and password.lower() not in {"true", "false"}


def new_password() -> str:
    """A random password that is safe for nats-server variables and URLs (192 bits)."""
    return "rf" + secrets.token_hex(_PASSWORD_BYTES)


def _check_namespace(namespace: str) -> str:
    # Same rule as ServiceSettings.namespace: letters, digits, underscores; lower case.
    if namespace and not namespace.replace("_", "").isalnum():
        raise ValueError(f"namespace must be letters, digits and underscores: {namespace!r}")
    return namespace.lower()


# --------------------------------------------------------------------------- event keys
# NATS users decide who may publish on a subject; event signatures (ruralfund_common.messaging
# .signing) let a consumer check who actually wrote a message. Both come from `deploy secrets`.


def event_key_env_var(namespace: str, signer: str) -> str:
    """Where `deploy secrets` puts a signer's private event key. Without a namespace it is the
    variable the service reads itself (RURALFUND_CLAIMS_EVENT_SIGNING_KEY); in a namespace
    (RURALFUND_XINPING_CLAIMS_EVENT_SIGNING_KEY) the operator hands it to that county's pods."""
    middle = f"{namespace.upper()}_" if namespace else ""
    return f"RURALFUND_{middle}{signer.upper()}_EVENT_SIGNING_KEY"


def trusted_keys_env_var(namespace: str) -> str:
    """The public keys a deployment's services trust: RURALFUND_EVENT_TRUSTED_KEYS."""
    middle = f"{namespace.upper()}_" if namespace else ""
    return f"RURALFUND_{middle}EVENT_TRUSTED_KEYS"


def new_event_key(namespace: str, signer: str, today: date, scope: str) -> tuple[str, str]:
    """A fresh Ed25519 key for ``signer``: (its secret setting, its trusted-keys entry).

    The key id names the signer and the day, plus a random suffix so two keys made the same day
    (a rotation) never share an id."""
    from ruralfund_common.messaging.signing import SigningKey

    key_id = f"{user_name(_check_namespace(namespace), signer)}-{today:%Y%m%d}-{secrets.token_hex(2)}"
    key = SigningKey.generate(key_id)
    return key.setting(), key.trusted_entry(scope)


def event_keys(namespaces: Sequence[str], command_senders: Mapping[str, str], today: date) -> list[tuple[str, str]]:
    """(variable, value) pairs: one signing key per service and outside command sender of each
    namespace, the operator's (redrives), and that namespace's trusted keys (a service signs
    ``<svc>.>``, a sender only ``<owner>.cmd.>``, the operator only ``redrive.>``)."""
    from ruralfund_common.messaging.signing import DEV_OPERATOR, REDRIVE_SCOPE

    pairs: list[tuple[str, str]] = []
    for ns in dict.fromkeys(_check_namespace(n) for n in namespaces):
        entries = []
        signers = [(svc, f"{svc}.>") for svc in SERVICES]
        signers += [(sender, f"{owner}.cmd.>") for sender, owner in command_senders.items()]
        signers += [(DEV_OPERATOR, REDRIVE_SCOPE)]  # the operator signs redrives (deploy dlq-redrive)
        for signer, scope in signers:
            secret, entry = new_event_key(ns, signer, today, scope)
            pairs.append((event_key_env_var(ns, signer), secret))
            entries.append(entry)
        pairs.append((trusted_keys_env_var(ns), ",".join(entries)))
    return pairs


# --------------------------------------------------------------------------- permissions


@dataclass(frozen=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    # Lets a user answer a request it received (re-publish) without a publish grant on _INBOX.
    allow_responses: bool = False


def _stream_admin(stream: str) -> list[str]:
    # ensure_stream: info, create if missing (every service may start first), update on drift.
    return [f"{JS_API}.STREAM.{verb}.{stream}" for verb in ("INFO", "CREATE", "UPDATE")]


def _consumer_rights(stream: str, filters: Iterable[str]) -> list[str]:
    rights = [f"{JS_API}.CONSUMER.INFO.{stream}.*"]
    # nats-py >= 2.x on a server >= 2.9 creates with ...CREATE.<stream>.<name>.<filter subject>
    rights += [f"{JS_API}.CONSUMER.CREATE.{stream}.*.{f}" for f in filters]
    # Acks are also replies to a delivered message (allow_responses), but a service that sends
    # "+WPI" (still working) answers more than once, which that grant does not cover.
    rights += [f"{JS_API}.CONSUMER.MSG.NEXT.{stream}.*", f"$JS.ACK.{stream}.>"]
    return rights


def service_permissions(
    service: str, namespace: str = "", consumes: Mapping[str, Sequence[str]] = CONSUMES
) -> Permissions:
    """What ``service`` may publish and subscribe to (see the module docstring for why)."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    ns = _check_namespace(namespace)
    own, dlq = stream_name(ns, service), stream_name(ns, "dlq")
    publish = [
        subject(ns, f"{service}.evt.>"),
        subject(ns, f"dlq.{service}.>"),
        *_stream_admin(own),
        # the relay's start-up check after a restore (OutboxRelay.stream_ahead): the last
        # message of each subject of its own stream, read, never changed
        f"{JS_API}.STREAM.MSG.GET.{own}",
        *_stream_admin(dlq),
        *_consumer_rights(own, [subject(ns, f"{service}.cmd.>")]),
    ]
    for owner in consumes.get(service, ()):
        stream = stream_name(ns, owner)
        publish += _stream_admin(stream)
        publish += _consumer_rights(stream, [subject(ns, f"{owner}.evt.>")])
        publish.append(subject(ns, f"_rf.republish.{owner}"))
    subscribe = [INBOX, subject(ns, f"_rf.republish.{service}")]
    return Permissions(tuple(dict.fromkeys(publish)), tuple(subscribe), allow_responses=True)


def repair_channels(namespaces: Sequence[str]) -> list[str]:
    """Every owner's repair channel (``_rf.republish.<owner>``) in ``namespaces``. Only the
    owner may subscribe to its own: whoever listens there can answer consumers' high-water and
    re-publish requests (answers are signed too: ruralfund_common.messaging.repair)."""
    return [subject(_check_namespace(ns), "_rf.republish.>") for ns in dict.fromkeys(namespaces)]


def command_sender_permissions(owner: str, namespace: str = "") -> Permissions:
    """An outside system (a sorting line) that sends commands to ``owner``, with PubAcks."""
    if owner not in SERVICES:
        raise ValueError(f"unknown owner {owner!r}")
    ns = _check_namespace(namespace)
    return Permissions((subject(ns, f"{owner}.cmd.>"),), (INBOX,))


def _check_subscriber(name: str) -> str:
    if not name or not name.replace("_", "").isalnum() or name != name.lower():
        raise ValueError(f"subscriber name must be lower-case letters, digits and underscores: {name!r}")
    if name in (*SERVICES, OPS_USER):
        raise ValueError(f"subscriber name {name!r} is taken by a service or the ops user")
    return name


def subscriber_durable(name: str, namespace: str = "") -> str:
    """The one durable consumer an outside subscriber may use on each owner's stream:
    ``ext_<its NATS user>`` (services' durables are ``<service>__<handler>``)."""
    return SUBSCRIBER_DURABLE_PREFIX + user_name(_check_namespace(namespace), _check_subscriber(name))


def subscriber_inbox(name: str, namespace: str = "") -> str:
    """The inbox prefix an outside subscriber connects with (``nats.connect(inbox_prefix=...)``):
    JetStream answers and fetched messages come back there, and nobody else listens there."""
    return f"_INBOX_{user_name(_check_namespace(namespace), _check_subscriber(name))}"


def subscriber_permissions(name: str, namespace: str = "") -> Permissions:
    """A read-only outside subscriber: its own durable pull consumer on every owner's events.

    The JetStream API subjects nats-py's ``pull_subscribe(subject, durable=, stream=)`` and
    ``fetch`` use, and nothing else: CONSUMER.INFO (does the durable exist?), CONSUMER.CREATE
    with a filter on ``<owner>.evt.>`` (commands stay private: no filter on ``<owner>.cmd.>``),
    CONSUMER.MSG.NEXT (a pull) and ``$JS.ACK`` of its own consumer. No STREAM.INFO/NAMES (pass
    ``stream=``), no CONSUMER.DELETE (ops resets a consumer), no core subscription on events."""
    ns = _check_namespace(namespace)
    durable = subscriber_durable(name, ns)
    publish: list[str] = []
    for owner in SERVICES:
        stream = stream_name(ns, owner)
        publish += [
            f"{JS_API}.CONSUMER.INFO.{stream}.{durable}",
            f"{JS_API}.CONSUMER.CREATE.{stream}.{durable}.{subject(ns, f'{owner}.evt.>')}",
            f"{JS_API}.CONSUMER.MSG.NEXT.{stream}.{durable}",
            f"$JS.ACK.{stream}.{durable}.>",
        ]
    return Permissions(tuple(publish), (f"{subscriber_inbox(name, ns)}.>",))


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Credential:
    """How a user proves who it is. Exactly one of the three."""

    env: str | None = None  # nats-server resolves $ENV at start: nothing secret in the file
    password: str | None = None  # literal: tests and throw-away set-ups only
    nkey: str | None = None  # public nkey (U...): not a secret; the client holds the seed

    def __post_init__(self) -> None:
        given = [v for v in (self.env, self.password, self.nkey) if v]
        assert len(given) == 1, "a credential is exactly one of env, password, nkey"
        if self.env is not None and not self.env.replace("_", "").isalnum():
            raise ValueError(f"bad environment variable name {self.env!r}")
        if self.nkey is not None and not (self.nkey.startswith("U") and len(self.nkey) == 56):
            raise ValueError("a user nkey is the 56-character public key starting with U")

    def render(self, user: str) -> str:
        if self.nkey:
            return f"nkey: {self.nkey}"
        if self.env:
            # Unquoted: nats-server substitutes the variable (quoted it would be a literal).
            return f"user: {_q(user)}, password: ${self.env}"
        return f"user: {_q(user)}, password: {_q(self.password or '')}"


@dataclass(frozen=True)
class JetStreamOptions:
    store_dir: str = "/data"
    max_memory_store: str = "256MB"
    max_file_store: str = "10GB"
    sync_always: bool = True  # False only to measure what fsync costs (deploy/measure_fsync.py)


@dataclass(frozen=True)
class TlsOptions:
    """The server's TLS (files from ``ruralfund deploy certs``). ``verify``: every client must
    also show a certificate signed by ``ca_file`` (besides its user's password)."""

    cert_file: str
    key_file: str
    ca_file: str
    verify: bool = True


@dataclass(frozen=True)
class ServerOptions:
    server_name: str = "ruralfund-nats"
    listen: str | None = "0.0.0.0:4222"
    http: str | None = "0.0.0.0:8222"  # monitoring; compose's health check asks /healthz
    max_payload: str = "1MB"
    jetstream: JetStreamOptions = field(default_factory=JetStreamOptions)
    tls: TlsOptions | None = None


@dataclass(frozen=True)
class _User:
    name: str
    credential: Credential
    permissions: Permissions | None  # None: everything (ops) but what deny_subscribe names
    comment: str
    deny_subscribe: tuple[str, ...] = ()


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _render_permissions(p: Permissions, indent: str) -> list[str]:
    lines = [f"{indent}permissions: {{"]
    lines.append(f"{indent}  publish: {{ allow: [")
    lines += [f"{indent}    {_q(s)}," for s in p.publish]
    lines.append(f"{indent}  ] }}")
    lines.append(f"{indent}  subscribe: {{ allow: [{', '.join(_q(s) for s in p.subscribe)}] }}")
    if p.allow_responses:
        lines.append(f"{indent}  allow_responses: true")
    lines.append(f"{indent}}}")
    return lines


def _render_user(user: _User) -> list[str]:
    lines = [f"    # {user.comment}", f"    {{ {user.credential.render(user.name)}"]
    if user.permissions is not None:
        lines += _render_permissions(user.permissions, "      ")
    elif user.deny_subscribe:
        deny = ", ".join(_q(s) for s in user.deny_subscribe)
        lines.append(f"      permissions: {{ subscribe: {{ deny: [{deny}] }} }}")
    lines.append("    }")
    return lines


def _default_credential(namespace: str, who: str) -> Credential:
    return Credential(env=password_env_var(namespace, who))


def _users(
    namespaces: Sequence[str],
    credentials: Mapping[str, Credential],
    command_senders: Mapping[str, str],
    subscribers: Sequence[str] = DEFAULT_SUBSCRIBERS,
) -> list[_User]:
    users = [_User(OPS_USER, credentials.get(OPS_USER) or _default_credential("", "ops"), None,
                   "operators: streams, consumers, DLQ draining, re-publish requests (ruralfund deploy, "
                   "nats CLI); never listens on an owner's repair channel",
                   deny_subscribe=tuple(repair_channels(namespaces)))]
    for ns in namespaces:
        for svc in SERVICES:
            name = user_name(ns, svc)
            cred = credentials.get(name) or _default_credential(ns, svc)
            users.append(_User(name, cred, service_permissions(svc, ns),
                               f"{svc}{f' of {ns}' if ns else ''}"))
        for sender, owner in command_senders.items():
            name = user_name(ns, sender)
            cred = credentials.get(name) or _default_credential(ns, sender)
            users.append(_User(name, cred, command_sender_permissions(owner, ns),
                               f"outside system sending {owner} commands"))
        for reader in subscribers:
            name = user_name(ns, _check_subscriber(reader))
            cred = credentials.get(name) or _default_credential(ns, reader)
            users.append(_User(name, cred, subscriber_permissions(reader, ns),
                               f"outside subscriber, read-only: its durable {subscriber_durable(reader, ns)} "
                               f"on each owner's events, inbox {subscriber_inbox(reader, ns)}"))
    names = [u.name for u in users]
    if len(names) != len(set(names)):
        raise ValueError(f"user names collide: {names}")
    return users


def _render_server(o: ServerOptions) -> list[str]:
    lines = [f"server_name: {_q(o.server_name)}"]
    if o.listen:
        lines.append(f"listen: {_q(o.listen)}")
    if o.http:
        lines.append(f"http: {_q(o.http)}")
    lines.append(f"max_payload: {o.max_payload}")
    if o.tls:
        lines += ["", "# Clients connect with TLS only (the CA and certificates: ruralfund deploy certs).",
                  "tls {", f"  cert_file: {_q(o.tls.cert_file)}", f"  key_file: {_q(o.tls.key_file)}",
                  f"  ca_file: {_q(o.tls.ca_file)}"]
        if o.tls.verify:
            lines.append("  verify: true  # and show a client certificate from that CA")
        lines += ["  timeout: 2", "}"]
    js = o.jetstream
    lines += ["", "jetstream {", f"  store_dir: {_q(js.store_dir)}"]
    if js.sync_always:
        lines += [
            "  # fsync after every write before the PubAck. The default (sync every 2 min) lets",
            "  # a power cut lose messages JetStream already acknowledged (Jepsen, NATS 2.12.1);",
            "  # PostgreSQL's outbox can re-publish, but only while its retention lasts.",
            "  sync_interval: always",
        ]
    lines += [f"  max_memory_store: {js.max_memory_store}",
              f"  max_file_store: {js.max_file_store}", "}"]
    return lines


def render_config(
    namespaces: Sequence[str] = ("",),
    *,
    credentials: Mapping[str, Credential] | None = None,
    command_senders: Mapping[str, str] | None = None,
    subscribers: Sequence[str] = DEFAULT_SUBSCRIBERS,
    server: ServerOptions | None = None,
) -> str:
    """The whole nats-server config: server, JetStream, one user per service (and namespace).

    ``credentials`` maps a user name (``claims``, ``xinping_funds``, ``ops``) to how it logs in;
    users not named there read their password from ``password_env_var(ns, who)``.
    ``command_senders`` maps an outside system's user name to the owner it sends commands to;
    ``subscribers`` names the read-only outside subscribers (``subscriber_permissions``).
    """
    spaces = list(dict.fromkeys(_check_namespace(ns) for ns in namespaces)) or [""]
    users = _users(spaces, credentials or {}, command_senders or {}, subscribers)
    lines = [
        "# Generated by `ruralfund deploy nats-config`; edit the generator, not this file.",
        f"# Namespaces: {', '.join(ns or '(none)' for ns in spaces)}.",
        *_render_server(server or ServerOptions()),
        "",
        "authorization {",
        "  # Everything not allowed below is denied; a denied publish gets no PubAck.",
        "  users: [",
    ]
    for user in users:
        lines += _render_user(user)
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- Kubernetes

#: Secret (in the NATS release's namespace) holding RURALFUND_NATS_<...>_PASSWORD keys.
NATS_USERS_SECRET = "ruralfund-nats-users"


def _helm_user(user: _User) -> dict[str, object]:
    # The official chart unquotes "<< ... >>": nats-server then substitutes the variable.
    entry: dict[str, object] = {"user": user.name, "password": f"<< ${user.credential.env} >>"}
    if user.permissions is not None:
        p = user.permissions
        perms: dict[str, object] = {"publish": {"allow": list(p.publish)},
                                    "subscribe": {"allow": list(p.subscribe)}}
        if p.allow_responses:
            perms["allow_responses"] = True
        entry["permissions"] = perms
    elif user.deny_subscribe:
        entry["permissions"] = {"subscribe": {"deny": list(user.deny_subscribe)}}
    return entry


def helm_values(
    namespaces: Sequence[str] = ("",),
    *,
    secret_name: str = NATS_USERS_SECRET,
    replicas: int = 3,
    pvc_size: str = "20Gi",
    command_senders: Mapping[str, str] | None = None,
    subscribers: Sequence[str] = DEFAULT_SUBSCRIBERS,
) -> dict[str, object]:
    """Values for the official NATS Helm chart: a JetStream cluster with the same users.

    Same permissions as ``render_config``; the passwords reach nats-server as environment
    variables from ``secret_name`` (one key per variable), never through the values.
    """
    assert replicas >= 3 and replicas % 2 == 1, "JetStream's RAFT wants an odd quorum >= 3"
    spaces = list(dict.fromkeys(_check_namespace(ns) for ns in namespaces)) or [""]
    users = _users(spaces, {}, command_senders or {}, subscribers)
    env_vars = [u.credential.env for u in users if u.credential.env]
    return {
        "config": {
            "cluster": {"enabled": True, "replicas": replicas},
            "jetstream": {
                "enabled": True,
                # file storage on a volume per server; streams get RURALFUND_NATS_REPLICAS=3
                # copies, one per server (the ruralfund chart's nats.replicas)
                "fileStore": {"enabled": True, "pvc": {"size": pvc_size}},
                # fsync before the PubAck: see render_config (Jepsen, NATS 2.12.1).
                "merge": {"sync_interval": "<< always >>"},
            },
            "merge": {
                "max_payload": "<< 1MB >>",
                "authorization": {"users": [_helm_user(u) for u in users]},
            },
        },
        "container": {
            "env": {var: {"valueFrom": {"secretKeyRef": {"name": secret_name, "key": var}}}
                    for var in env_vars},
        },
        # one server per Kubernetes node: three replicas on one node would all go with it
        "podTemplate": {"topologySpreadConstraints": {
            "kubernetes.io/hostname": {"maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}}},
        "podDisruptionBudget": {"enabled": True},
    }
