"""The repair channel: what consumers ask an owner on ``_rf.republish.<owner>``, and its answers.

A consumer asks an owner (core NATS request) for its high-water mark on a subject, or to
re-publish a range of it. The answer decides whether the consumer may move its cursor past
sequences it never applied, so anyone able to answer could silence a subject (an outsider on
NATS once answered ``{"high_water_seq": 1000000}`` and funds dropped a genuine objection).
Hence:

- the consumer puts a fresh random ``nonce`` in every request;
- the owner's outbox relay answers with the nonce, the subject, the figures and the time, and
  signs the exact answer bytes with its event key (``SigningKey.sign_answer``);
- the consumer uses an answer only after ``check_answer``: signed by a key trusted for the
  subject (the owner's scope), its own nonce (else a replay), the subject and kind it asked
  about, recent, figures that make sense. Anything else is ignored, logged and counted, and
  the consumer keeps listening for the genuine answer until its deadline.

The only statement that lets a consumer skip sequences is ``pruned_below_seq``: every sequence
of the subject below it was pruned from the owner's outbox (``OutboxRelay.prune`` deletes a
prefix per subject and records the mark in the same transaction), so no one can ever deliver
them again.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

from .signing import SignatureRejected, TrustedKeys

__all__ = [
    "KIND_HIGH_WATER",
    "KIND_REPUBLISH",
    "MAX_ANSWERS_READ",
    "MAX_ANSWER_AGE_SECONDS",
    "MAX_ANSWER_BYTES",
    "RepairAnswer",
    "answer_bytes",
    "check_answer",
    "checked_nonce",
    "new_nonce",
    "request_body",
]

KIND_HIGH_WATER = "high_water"
KIND_REPUBLISH = "republish"
ANSWER_VERSION = 1
#: Random bytes in a request's nonce (144 bits: never guessed, never repeated).
NONCE_BYTES = 18
MAX_NONCE_CHARS = 64
#: A genuine answer is ~300 bytes; anything far larger is refused before parsing.
MAX_ANSWER_BYTES = 4096
#: An answer stamped further than this from the consumer's wall clock is stale (or from a
#: badly wrong clock): the nonce already rules out replays, this bounds a signer gone odd.
MAX_ANSWER_AGE_SECONDS = 60.0
#: Answers read per request while waiting for a genuine one (an outsider may answer first).
MAX_ANSWERS_READ = 16
_NONCE = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_NONCE_CHARS}}}$")
_SEQ_FIELDS = ("high_water_seq", "pruned_below_seq")


def new_nonce() -> str:
    return secrets.token_urlsafe(NONCE_BYTES)


def checked_nonce(value: object) -> str:
    """The owner's check of a request's nonce ('' when the request has none: an operator's
    ``deploy republish``, whose answer no consumer accepts since it carries no nonce of theirs)."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not _NONCE.match(value):
        raise ValueError(f"nonce must be 1-{MAX_NONCE_CHARS} base64url characters")
    return value


def request_body(subject: str, nonce: str, *, from_seq: int | None = None, to_seq: int | None = None) -> bytes:
    """A high-water request (no range) or a re-publish request of ``from_seq..to_seq``."""
    if from_seq is None:
        return json.dumps({"subject": subject, "nonce": nonce, "high_water": True}).encode()
    return json.dumps({"subject": subject, "nonce": nonce, "from_seq": from_seq, "to_seq": to_seq}).encode()


def answer_bytes(*, kind: str, owner: str, subject: str, nonce: str, high_water_seq: int,
                 pruned_below_seq: int, **figures: int) -> bytes:
    """What an owner signs and sends; ``figures``: from_seq, to_seq, republished (re-publish)."""
    assert kind in (KIND_HIGH_WATER, KIND_REPUBLISH)
    assert 1 <= pruned_below_seq <= high_water_seq + 1, "cannot have pruned what was never published"
    body = {"v": ANSWER_VERSION, "kind": kind, "owner": owner, "subject": subject, "nonce": nonce,
            "answered_at_ms": int(time.time() * 1000), "high_water_seq": high_water_seq,
            "pruned_below_seq": pruned_below_seq, **figures}
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass(frozen=True)
class RepairAnswer:
    """A verified answer: the figures, who signed them, and the signed bytes (kept as evidence)."""

    kind: str
    subject: str
    high_water_seq: int
    pruned_below_seq: int
    republished: int | None
    key_id: str
    signed_body: str
    signature: str


def check_answer(trusted: TrustedKeys, *, channel: str, owner: str, subject: str, nonce: str, kind: str,
                 data: bytes, headers: Mapping[str, str], now_s: float | None = None) -> RepairAnswer:
    """The answer if it is the owner's genuine, fresh answer to this request; otherwise
    :class:`SignatureRejected` with the reason's code (UNSIGNED, UNKNOWN_SIGNING_KEY,
    WRONG_SIGNER, BAD_SIGNATURE, NONCE_MISMATCH, STALE, WRONG_ANSWER, OVERSIZED)."""
    if len(data) > MAX_ANSWER_BYTES:
        raise SignatureRejected("OVERSIZED", f"{len(data)} bytes, at most {MAX_ANSWER_BYTES}")
    key_id = trusted.verify_answer(channel, subject, data, headers)
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SignatureRejected("WRONG_ANSWER", "not JSON") from None
    if not isinstance(body, dict):
        raise SignatureRejected("WRONG_ANSWER", "not a JSON object")
    if not nonce or body.get("nonce") != nonce:  # signed, but for another request: a replay
        raise SignatureRejected("NONCE_MISMATCH", f"answer to nonce {str(body.get('nonce'))[:64]!r}, not ours")
    if (body.get("kind"), body.get("owner"), body.get("subject")) != (kind, owner, subject):
        raise SignatureRejected("WRONG_ANSWER", f"a {body.get('kind')!r} answer by {body.get('owner')!r} about "
                                                f"{str(body.get('subject'))[:200]!r}")
    _check_fresh(body.get("answered_at_ms"), time.time() if now_s is None else now_s)
    return _figures(body, kind, key_id, data, headers)


def _check_fresh(answered_at_ms: object, now_s: float) -> None:
    if not isinstance(answered_at_ms, int) or isinstance(answered_at_ms, bool):
        raise SignatureRejected("WRONG_ANSWER", "answered_at_ms is not an integer")
    age_s = now_s - answered_at_ms / 1000
    if abs(age_s) > MAX_ANSWER_AGE_SECONDS:
        raise SignatureRejected("STALE", f"answered {age_s:.0f} s ago, at most {MAX_ANSWER_AGE_SECONDS:.0f} s")


def _figures(body: dict, kind: str, key_id: str, data: bytes, headers: Mapping[str, str]) -> RepairAnswer:
    values = {f: body.get(f) for f in _SEQ_FIELDS}
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in values.values()):
        raise SignatureRejected("WRONG_ANSWER", f"bad figures {values}")
    high, pruned = values["high_water_seq"], values["pruned_below_seq"]
    if not 1 <= pruned <= high + 1:
        raise SignatureRejected("WRONG_ANSWER", f"pruned below {pruned} but published only up to {high}")
    republished = body.get("republished")
    if kind == KIND_REPUBLISH and (not isinstance(republished, int) or isinstance(republished, bool)):
        raise SignatureRejected("WRONG_ANSWER", "a re-publish answer without its count")
    return RepairAnswer(kind=kind, subject=body["subject"], high_water_seq=high, pruned_below_seq=pruned,
                        republished=republished if kind == KIND_REPUBLISH else None, key_id=key_id,
                        signed_body=data.decode(), signature=headers.get("Ruralfund-Signature", ""))
