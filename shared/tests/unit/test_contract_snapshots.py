"""Contracts are append-only: each event's JSON schema is kept as a snapshot, so an accidental
change fails here. A deliberate compatible change: run with RURALFUND_UPDATE_SNAPSHOTS=1 and
commit the new snapshot; a breaking one needs a new vN+1 contract instead."""

from __future__ import annotations

import json
import os
import subprocess
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
        if path.exists():  # an update may only add: refuse to record a breaking change
            assert not breaking_changes(json.loads(path.read_text(encoding="utf-8")), json.loads(schema)), subject
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


def breaking_changes(old: dict, new: dict, where: str = "") -> list[str]:
    """What a consumer written against ``old`` would trip on in ``new``: a field removed or
    retyped, or a field it may not send/receive made required. Adding optional fields is fine."""
    found = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, spec in old_props.items():
        if name not in new_props:
            found.append(f"{where}{name}: removed")
        elif _type_of(spec) != _type_of(new_props[name]):
            found.append(f"{where}{name}: {_type_of(spec)} -> {_type_of(new_props[name])}")
    for name in set(new.get("required", [])) - set(old.get("required", [])):
        found.append(f"{where}{name}: newly required")
    for name, spec in old.get("$defs", {}).items():
        if name in new.get("$defs", {}):
            found += breaking_changes(spec, new["$defs"][name], f"{where}{name}.")
    return found


def _type_of(spec: dict) -> object:
    return spec.get("type") or spec.get("$ref") or sorted(map(json.dumps, spec.get("anyOf", [])))


def test_breaking_changes_are_named() -> None:
    old = {"properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"]}
    assert breaking_changes(old, {**old, "properties": {**old["properties"], "c": {"type": "string"}}}) == []
    assert breaking_changes(old, {"properties": {"a": {"type": "string"}}, "required": ["a"]}) == ["b: removed"]
    assert breaking_changes(old, {"properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                                  "required": ["a"]}) == ["a: string -> integer"]
    assert breaking_changes(old, {**old, "required": ["a", "b"]}) == ["b: newly required"]


@pytest.mark.parametrize("subject", sorted(ALL_EVENTS))
def test_no_contract_broke_since_its_first_snapshot(subject: str) -> None:
    """The snapshot as first committed (git history) against the contract today: only additions."""
    first = _first_committed_snapshot(subject)
    if first is None:  # new this change, or no git history here (an sdist): nothing to compare
        return
    now = ALL_EVENTS[subject].model_json_schema()
    assert not breaking_changes(first, now), f"{subject}: {breaking_changes(first, now)}"


def _first_committed_snapshot(subject: str) -> dict | None:
    rel = (SNAPSHOTS / f"{subject}.json").relative_to(_repo_root())
    try:
        commits = subprocess.run(["git", "log", "--format=%H", "--diff-filter=A", "--", str(rel)], cwd=_repo_root(),
                                 capture_output=True, text=True, check=True).stdout.split()
        if not commits:
            return None
        text = subprocess.run(["git", "show", f"{commits[-1]}:{rel}"], cwd=_repo_root(), capture_output=True,
                              text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return json.loads(text)


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[3]
