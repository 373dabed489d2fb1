"""Contracts are append-only: each event's JSON schema is kept as a snapshot, so an accidental
change fails here. A deliberate compatible change: run with RURALFUND_UPDATE_SNAPSHOTS=1 and
commit the new snapshot; a breaking one needs a new vN+1 contract instead."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ruralfund_common.contracts import ALL_EVENTS
from ruralfund_common.messaging.subjects import _LOGICAL

SNAPSHOTS = Path(__file__).parent / "contract_snapshots"


@pytest.mark.parametrize("subject", sorted(ALL_EVENTS))
def test_contract_schema_matches_snapshot(subject: str) -> None:
    model = ALL_EVENTS[subject]
    schema = json.dumps(model.model_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    path = SNAPSHOTS / f"{subject}.json"
    if os.environ.get("RURALFUND_UPDATE_SNAPSHOTS") == "1":
        path.write_text(schema, encoding="utf-8")
    assert path.exists(), f"no snapshot for {subject}: run once with RURALFUND_UPDATE_SNAPSHOTS=1"
    assert path.read_text(encoding="utf-8") == schema, f"{subject} changed: contracts are append-only"


@pytest.mark.parametrize("subject", sorted(ALL_EVENTS))
def test_contract_subject_is_well_formed_and_versioned(subject: str) -> None:
    assert _LOGICAL.match(subject)
    assert (".evt." in subject or ".cmd." in subject) and subject.rsplit(".", 1)[1].startswith("v")
    assert ALL_EVENTS[subject].__doc__, "every event or command says what it means"


def test_every_snapshot_has_a_contract() -> None:
    orphans = {p.stem for p in SNAPSHOTS.glob("*.json")} - set(ALL_EVENTS)
    assert not orphans, f"snapshot without contract (a contract was removed?): {orphans}"
