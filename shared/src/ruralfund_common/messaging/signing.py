"""Event signatures: who may say what on which subject.

NATS permissions stop a service's *NATS user* from publishing another owner's subjects; a
signature also stops anyone who got hold of a NATS password (or of the ops user) from forging
``claims.evt.claim_approved.v1``: every message a service (outbox relay, re-publish) or an
outside gateway (``logistics.cmd.record_scans.v1``) publishes carries an Ed25519 signature, and
every consumer checks it before it even parses the payload.

Headers: ``Ruralfund-Key-Id`` (which key signed) and ``Ruralfund-Signature`` (base64url, no
padding). The signature covers, unambiguously framed: the physical subject, the
``Nats-Msg-Id``, the ``Ruralfund-Seq`` (empty when absent: a forged sequence number could
otherwise push a consumer's cursor past real messages) and the exact payload bytes.

Keys:
- a signing key is ``<key id>:<base64url 32-byte Ed25519 seed>`` (RURALFUND_EVENT_SIGNING_KEY);
- the trusted keys are entries ``<key id>:<scope>:<base64url public key>`` separated by commas
  or whitespace (RURALFUND_EVENT_TRUSTED_KEYS). A scope is a NATS-style filter on the *logical*
  subject: ``claims.>`` for the claims service, ``logistics.cmd.>`` for a sorting line's
  gateway. Repeat an entry to give one key several scopes. Several keys per scope = rotation.
- development and tests need no set-up: each signer has a deterministic dev key derived from
  its name (``dev-claims``; ``dev-gateway`` for outside systems' commands; ``dev-ops`` for the
  operator's redrives), and the dev trust map trusts exactly those. Like the dev clock,
  production refuses them.

Redrives: ``ruralfund deploy dlq-redrive`` publishes a dead letter again exactly as its producer
signed it, plus ``Ruralfund-Redriven-From``, which makes the consumer apply it outside the
sequence check. That mark is signed too, by the operator's key (``Ruralfund-Redrive-Key-Id`` /
``-Signature`` over the subject, Nats-Msg-Id, the mark and the payload), trusted with the scope
``redrive.>`` (or ``redrive.<owner>.>``): without it anyone able to publish on a subject could
replay a signed message out of order.

Repair answers: what an owner's outbox relay answers on ``_rf.republish.<owner>`` (its high-water
mark, what it re-published, below which sequence it pruned its outbox for good) decides whether
a consumer may move its cursor past messages it never applied. Each answer is signed by the
owner's event key (``sign_answer``) over the channel and the exact answer bytes, which carry the
consumer's fresh nonce, the subject and the figures; ``verify_answer`` checks it against the
keys trusted for that subject, under its own version label so that no event signature can
stand in for an answer, nor an answer for an event.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .subjects import OWNERS

__all__ = [
    "DEV_GATEWAY",
    "DEV_OPERATOR",
    "HEADER_KEY_ID",
    "HEADER_REDRIVE_KEY_ID",
    "HEADER_REDRIVE_SIGNATURE",
    "HEADER_SIGNATURE",
    "MAX_EVENT_BYTES",
    "REDRIVE_SCOPE",
    "EventKeyError",
    "EventKeys",
    "SignatureRejected",
    "SigningKey",
    "TrustedKey",
    "TrustedKeys",
    "signed_bytes",
]

HEADER_SIGNATURE = "Ruralfund-Signature"
HEADER_KEY_ID = "Ruralfund-Key-Id"
#: Largest payload a producer emits and a consumer accepts. Above the largest legitimate
#: message (a full logistics.cmd.record_scans.v1 batch of 1,000 scans is ~270 KB), well below
#: NATS' max_payload (1 MB in deploy/compose/nats.conf) so a dead letter's headers always fit.
MAX_EVENT_BYTES = 512 * 1024
#: Signer name of outside systems' command gateways in development and tests.
DEV_GATEWAY = "gateway"
#: Signer name of the operator (redrives) in development and tests.
DEV_OPERATOR = "ops"
HEADER_REDRIVEN = "Ruralfund-Redriven-From"  # same as envelope.HEADER_REDRIVEN (no import cycle)
HEADER_REDRIVE_KEY_ID = "Ruralfund-Redrive-Key-Id"
HEADER_REDRIVE_SIGNATURE = "Ruralfund-Redrive-Signature"
#: The scope an operator key needs to redrive; redriving <logical subject> needs "redrive.<subject>".
REDRIVE_SCOPE = "redrive.>"
_REDRIVE_PREFIX = "redrive."
_DEV_PREFIX = "dev-"
_DEV_SEED_LABEL = b"ruralfund development event key, never for production\0"
_SIGNATURE_VERSION = b"ruralfund-event-signature-v1"
_REDRIVE_SIGNATURE_VERSION = b"ruralfund-redrive-signature-v1"
_REPAIR_SIGNATURE_VERSION = b"ruralfund-repair-answer-v1"
_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SCOPE = re.compile(r"^(?:[a-z0-9_]+|\*)(?:\.(?:[a-z0-9_]+|\*))*(?:\.>)?$|^>$")
_SEPARATORS = re.compile(r"[\s,]+")
_SIGNATURE_BYTES = 64
_SEED_BYTES = 32

HEADER_MSG_ID = "Nats-Msg-Id"  # same as envelope.HEADER_MSG_ID (no import cycle)
HEADER_SEQ = "Ruralfund-Seq"


class EventKeyError(ValueError):
    """A key setting is malformed, missing in production, or a dev key in production."""


class SignatureRejected(Exception):
    """A message failed verification; ``code`` goes into the dead letter's reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str, size: int, what: str) -> bytes:
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (ValueError, TypeError):
        raise EventKeyError(f"{what} is not base64url") from None
    if len(raw) != size:
        raise EventKeyError(f"{what} must be {size} bytes, got {len(raw)}")
    return raw


def _check_key_id(key_id: str) -> str:
    if not _KEY_ID.match(key_id):
        raise EventKeyError(f"key id {key_id!r} must be 1-64 letters, digits, '_', '.', '-'")
    return key_id


def signed_bytes(key_id: str, subject: str, msg_id: str, seq: str, data: bytes,
                 *, version: bytes = _SIGNATURE_VERSION) -> bytes:
    """What the signature covers: each field length-prefixed, then the payload. A redrive
    signature frames its mark in the place of the sequence, under its own version label, so
    neither signature can stand in for the other."""
    parts = [version, key_id.encode(), subject.encode(), msg_id.encode(), seq.encode()]
    return b"".join(b"%d:%s\n" % (len(p), p) for p in parts) + data


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> SigningKey:
        key_id, sep, seed = text.strip().partition(":")
        if not sep:
            raise EventKeyError("a signing key is '<key id>:<base64url seed>'")
        raw = _unb64(seed, _SEED_BYTES, f"signing key {key_id!r}")
        return cls(_check_key_id(key_id), Ed25519PrivateKey.from_private_bytes(raw))

    @classmethod
    def generate(cls, key_id: str) -> SigningKey:
        return cls(_check_key_id(key_id), Ed25519PrivateKey.generate())

    @classmethod
    def dev(cls, signer: str) -> SigningKey:
        """The deterministic development key of ``signer`` (a service, or ``gateway``)."""
        seed = hashlib.sha256(_DEV_SEED_LABEL + signer.encode()).digest()
        return cls(_check_key_id(f"{_DEV_PREFIX}{signer}"), Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def is_dev(self) -> bool:
        return self.key_id.startswith(_DEV_PREFIX)

    def setting(self) -> str:
        """The secret value for RURALFUND_EVENT_SIGNING_KEY."""
        seed = self.private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())
        return f"{self.key_id}:{_b64(seed)}"

    def public_text(self) -> str:
        return _b64(self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                           serialization.PublicFormat.Raw))

    def trusted_entry(self, scope: str) -> str:
        """This key's entry for RURALFUND_EVENT_TRUSTED_KEYS, allowed to sign ``scope``."""
        return f"{self.key_id}:{_check_scope(scope)}:{self.public_text()}"

    def sign(self, subject: str, data: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        """``headers`` plus the signature over the physical ``subject``, the Nats-Msg-Id and
        Ruralfund-Seq in ``headers`` and ``data``. Set those headers before signing."""
        out = dict(headers)
        msg = signed_bytes(self.key_id, subject, out.get(HEADER_MSG_ID, ""), out.get(HEADER_SEQ, ""), data)
        out[HEADER_KEY_ID] = self.key_id
        out[HEADER_SIGNATURE] = _b64(self.private.sign(msg))
        return out

    def sign_answer(self, channel: str, data: bytes) -> dict[str, str]:
        """Signature headers for an answer on the repair channel (``channel``: the physical
        ``_rf.republish.<owner>`` subject); ``data`` holds the nonce, subject and figures."""
        msg = signed_bytes(self.key_id, channel, "", "", data, version=_REPAIR_SIGNATURE_VERSION)
        return {HEADER_KEY_ID: self.key_id, HEADER_SIGNATURE: _b64(self.private.sign(msg))}

    def sign_redrive(self, subject: str, data: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        """``headers`` (the producer's signed message with its Nats-Msg-Id and
        Ruralfund-Redriven-From set) plus the operator's signature over that mark."""
        out = dict(headers)
        assert out.get(HEADER_REDRIVEN), "set Ruralfund-Redriven-From before signing the redrive"
        msg = signed_bytes(self.key_id, subject, out.get(HEADER_MSG_ID, ""), out[HEADER_REDRIVEN], data,
                           version=_REDRIVE_SIGNATURE_VERSION)
        out[HEADER_REDRIVE_KEY_ID] = self.key_id
        out[HEADER_REDRIVE_SIGNATURE] = _b64(self.private.sign(msg))
        return out


def _check_scope(scope: str) -> str:
    if not _SCOPE.match(scope):
        raise EventKeyError(f"scope {scope!r} must be a subject filter like 'claims.>' or 'logistics.cmd.>'")
    return scope


def _scope_matches(scope: str, subject: str) -> bool:
    pattern, tokens = scope.split("."), subject.split(".")
    for i, p in enumerate(pattern):
        if p == ">":
            return len(tokens) > i
        if i >= len(tokens) or (p != "*" and p != tokens[i]):
            return False
    return len(tokens) == len(pattern)


@dataclass(frozen=True)
class TrustedKey:
    key_id: str
    public: Ed25519PublicKey = field(repr=False)
    public_text: str
    scopes: tuple[str, ...]

    def may_sign(self, logical_subject: str) -> bool:
        return any(_scope_matches(s, logical_subject) for s in self.scopes)


class TrustedKeys:
    """Public keys by key id, each allowed to sign only subjects matching its scopes."""

    def __init__(self, keys: Iterable[TrustedKey]) -> None:
        self._keys = {k.key_id: k for k in keys}

    @classmethod
    def parse(cls, text: str) -> TrustedKeys:
        found: dict[str, TrustedKey] = {}
        for entry in filter(None, _SEPARATORS.split(text.strip())):
            parts = entry.split(":")
            if len(parts) != 3:
                raise EventKeyError(f"trusted key entry {entry!r} is not '<key id>:<scope>:<public key>'")
            key_id, scope, public = _check_key_id(parts[0]), _check_scope(parts[1]), parts[2]
            raw = _unb64(public, _SEED_BYTES, f"public key {key_id!r}")
            old = found.get(key_id)
            if old is not None and old.public_text != public:
                raise EventKeyError(f"key id {key_id!r} is listed with two different public keys")
            scopes = (*old.scopes, scope) if old else (scope,)
            found[key_id] = TrustedKey(key_id, Ed25519PublicKey.from_public_bytes(raw), public, scopes)
        if not found:
            raise EventKeyError("no trusted keys given")
        return cls(found.values())

    @classmethod
    def dev(cls) -> TrustedKeys:
        """Each service's dev key for its own subjects, the dev gateway for every owner's commands."""
        entries = [SigningKey.dev(o).trusted_entry(f"{o}.>") for o in OWNERS]
        entries += [SigningKey.dev(DEV_GATEWAY).trusted_entry("*.cmd.>")]
        entries += [SigningKey.dev(DEV_OPERATOR).trusted_entry(REDRIVE_SCOPE)]
        return cls.parse(",".join(entries))

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    @property
    def keys(self) -> list[TrustedKey]:
        return [self._keys[k] for k in sorted(self._keys)]

    def has_dev_keys(self) -> bool:
        return any(k.startswith(_DEV_PREFIX) for k in self._keys)

    def verify(self, subject: str, logical_subject: str, data: bytes, headers: Mapping[str, str]) -> str:
        """Return the signing key id, or raise :class:`SignatureRejected` saying why not."""
        key_id, signature = headers.get(HEADER_KEY_ID), headers.get(HEADER_SIGNATURE)
        if not key_id or not signature:
            raise SignatureRejected("UNSIGNED", f"no {HEADER_KEY_ID} / {HEADER_SIGNATURE} headers")
        key = self._keys.get(key_id)
        if key is None:
            raise SignatureRejected("UNKNOWN_SIGNING_KEY", f"key id {key_id[:64]!r} is not trusted")
        if not key.may_sign(logical_subject):
            raise SignatureRejected(
                "WRONG_SIGNER", f"key {key_id} may sign {', '.join(key.scopes)}, not {logical_subject}")
        try:
            raw = _unb64(signature, _SIGNATURE_BYTES, "signature")
            key.public.verify(raw, signed_bytes(key_id, subject, headers.get(HEADER_MSG_ID, ""),
                                                headers.get(HEADER_SEQ, ""), data))
        except (EventKeyError, InvalidSignature):
            raise SignatureRejected("BAD_SIGNATURE", f"signature by {key_id} does not match the message") from None
        return key_id

    def verify_answer(self, channel: str, logical_subject: str, data: bytes, headers: Mapping[str, str]) -> str:
        """An answer on the repair channel about ``logical_subject``: the key id of its signer,
        which must be trusted for that subject (the owner's scope, as for its events), or
        :class:`SignatureRejected`. The caller then checks the nonce, subject and figures."""
        key_id, signature = headers.get(HEADER_KEY_ID), headers.get(HEADER_SIGNATURE)
        if not key_id or not signature:
            raise SignatureRejected("UNSIGNED", f"no {HEADER_KEY_ID} / {HEADER_SIGNATURE} headers")
        key = self._keys.get(key_id)
        if key is None:
            raise SignatureRejected("UNKNOWN_SIGNING_KEY", f"key id {key_id[:64]!r} is not trusted")
        # the owner's own key: trusted for the subject and for the owner's events (a command
        # gateway's key, trusted for <owner>.cmd.> only, may not vouch for the owner's outbox)
        owners_events = f"{logical_subject.split('.', 1)[0]}.evt.repair_answer.v1"
        if not (key.may_sign(logical_subject) and key.may_sign(owners_events)):
            raise SignatureRejected(
                "WRONG_SIGNER", f"key {key_id} may sign {', '.join(key.scopes)}, not answers about {logical_subject}")
        try:
            raw = _unb64(signature, _SIGNATURE_BYTES, "signature")
            key.public.verify(raw, signed_bytes(key_id, channel, "", "", data, version=_REPAIR_SIGNATURE_VERSION))
        except (EventKeyError, InvalidSignature):
            raise SignatureRejected("BAD_SIGNATURE", f"answer signature by {key_id} does not match") from None
        return key_id

    def verify_redrive(self, subject: str, logical_subject: str, data: bytes, headers: Mapping[str, str]) -> str:
        """A message marked Ruralfund-Redriven-From: the operator key that signed the mark, or
        :class:`SignatureRejected`. (The producer's own signature is checked by ``verify``.)"""
        key_id, signature = headers.get(HEADER_REDRIVE_KEY_ID), headers.get(HEADER_REDRIVE_SIGNATURE)
        if not key_id or not signature:
            raise SignatureRejected("UNSIGNED_REDRIVE", f"a redrive mark without {HEADER_REDRIVE_KEY_ID} / "
                                                        f"{HEADER_REDRIVE_SIGNATURE} (an operator's key signs it)")
        key = self._keys.get(key_id)
        if key is None:
            raise SignatureRejected("UNKNOWN_SIGNING_KEY", f"redrive key id {key_id[:64]!r} is not trusted")
        if not key.may_sign(_REDRIVE_PREFIX + logical_subject):
            raise SignatureRejected("WRONG_SIGNER", f"key {key_id} may sign {', '.join(key.scopes)}, "
                                                    f"not a redrive of {logical_subject}")
        try:
            raw = _unb64(signature, _SIGNATURE_BYTES, "redrive signature")
            key.public.verify(raw, signed_bytes(key_id, subject, headers.get(HEADER_MSG_ID, ""),
                                                headers.get(HEADER_REDRIVEN, ""), data,
                                                version=_REDRIVE_SIGNATURE_VERSION))
        except (EventKeyError, InvalidSignature):
            raise SignatureRejected("BAD_SIGNATURE", f"redrive signature by {key_id} does not match") from None
        return key_id


@dataclass(frozen=True)
class EventKeys:
    """A service's signing key and the keys it trusts."""

    signing: SigningKey
    trusted: TrustedKeys

    @classmethod
    def dev(cls, service: str) -> EventKeys:
        return cls(SigningKey.dev(service), TrustedKeys.dev())

    @classmethod
    def load(cls, service: str, *, env: str, signing_key: str | None, trusted_keys: str | None) -> EventKeys:
        """From the settings' values; in production both are required and dev keys refused."""
        if env == "production" and (not signing_key or not trusted_keys):
            raise EventKeyError(
                "RURALFUND_EVENT_SIGNING_KEY and RURALFUND_EVENT_TRUSTED_KEYS are required when "
                "RURALFUND_ENV=production (`ruralfund deploy secrets` generates them)")
        signing = SigningKey.parse(signing_key) if signing_key else SigningKey.dev(service)
        trusted = TrustedKeys.parse(trusted_keys) if trusted_keys else TrustedKeys.dev()
        if env == "production" and (signing.is_dev or trusted.has_dev_keys()):
            raise EventKeyError("development event keys (key id 'dev-...') cannot be used when "
                                "RURALFUND_ENV=production")
        return cls(signing, trusted)

    @classmethod
    def from_settings(cls, settings: object) -> EventKeys:
        """From a ServiceSettings (duck-typed: this module does not import the settings)."""
        secret = getattr(settings, "event_signing_key", None)
        if secret is not None and hasattr(secret, "get_secret_value"):
            secret = secret.get_secret_value()
        return cls.load(settings.service, env=getattr(settings, "env", "development"),
                        signing_key=secret or None, trusted_keys=getattr(settings, "event_trusted_keys", None))
