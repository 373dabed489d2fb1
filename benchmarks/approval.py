"""Approval -> publicity window open: how long after a leading-group approval (HTTP) the funds
service has opened the award's publicity window, through real NATS JetStream, p50/p99.

The path (three processes, as ``ruralfund dev`` runs them): ``POST /claims/{id}/decision`` in
claims commits the approval and its ``claim_approved`` event (outbox) -> claims' relay publishes
it -> funds reserves the award, notify publishes the publicity notice -> notify's relay publishes
``publicity_published`` -> funds opens the window and its relay publishes
``publicity_window_opened``. The clock stops when that last event reaches a plain NATS
subscription of this driver (so it was committed and relayed): two consumer hops, three outbox
relays, four commits on the critical path.

Approvals are paced (``--per-second``) rather than flooded: this is a latency figure. The
limit it is divided by is the floor of that path on this machine, measured in the same run:
3 x (one PostgreSQL commit + one JetStream PubAck round trip), from the 1-connection commit rate
and the ack-each publish rate.

Usage: ``.venv/bin/python -m benchmarks.approval [--approvals N] [--per-second R] [--json]``
Bounded: at most MAX_APPROVALS; loopback servers only; database and namespace are the run's own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from ruralfund_common.auth import AuthSettings, Role, issue_token
from ruralfund_common.testing.infra import (
    connect_nats,
    create_database,
    drop_database,
    embedded_nats,
    embedded_postgres,
    is_loopback_url,
)
from ruralfund_common.testing.services import person

from benchmarks.limits import measure_nats_publish_rate, measure_pg_commit_rate
from benchmarks.loop import run as run_on_service_loop
from benchmarks.procs import REPO, service_env, services_running

MAX_APPROVALS: Final = 300  # one claim per quarter 2023Q1..2097Q4 (the claim period starts 2022-10-23)
DEFAULT_APPROVALS: Final = 100
DEFAULT_PER_S: Final = 5.0
EVENT_TIMEOUT_S: Final = 30.0
REQUEST_TIMEOUT_S: Final = 30.0
TARGET_P99_MS: Final = 200.0
SLOWEST_SHOWN: Final = 3
HOPS: Final = 3  # commits + relays on the critical path beyond the HTTP one (see above)
CREDIT_CODE: Final = "91530427MA6K0B0Q1Y"
CLOCK_AT: Final = "2026-03-02T02:00:00Z"  # a working Monday in the county (publicity days)
WINDOW_OPENED: Final = "funds.evt.publicity_window_opened.v1"


def _bearer(who: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(who, AuthSettings())}"}


ADMIN = person("Bench Admin", Role.BUREAU_ADMIN)
LEADER = person("Bench Leader", Role.LEADING_GROUP)
ENTERPRISE = person("Bench Packaging", Role.ENTERPRISE, credit_code=CREDIT_CODE)


async def _setup(claims: httpx.AsyncClient, funds: httpx.AsyncClient, count: int) -> list[str]:
    """Xinping loaded, one enterprise, ``count`` claims reviewed complete; their ids."""
    r = await funds.post("/admin/clock", json={"set_to": CLOCK_AT}, headers=_bearer(ADMIN))
    assert r.status_code == 200, r.text
    r = await claims.post("/programs", content=(REPO / "programs/xinping-2021.yaml").read_bytes(),
                          headers={**_bearer(ADMIN), "Content-Type": "application/yaml"})
    assert r.status_code == 201, r.text
    r = await claims.post("/enterprises", headers=_bearer(ADMIN), json={
        "credit_code": CREDIT_CODE, "name": "新平基准包装有限公司", "kind": "enterprise",
        "contact": {"name": "李经理"}, "program_code": "xinping-2021",
        "bank_account": {"bank_name": "中国农业银行新平县支行", "account_no": "6228480000000000001"}})
    assert r.status_code == 201, r.text
    ids = []
    for n in range(count):
        r = await claims.post("/claims", headers=_bearer(ENTERPRISE), json={
            "program_code": "xinping-2021", "item_code": "brand-packaging",
            "evidence": {"quarter": f"{2023 + n // 4}Q{n % 4 + 1}", "units": 10_000 + n}})
        assert r.status_code == 201, r.text
        claim_id = r.json()["id"]
        r = await claims.post(f"/claims/{claim_id}/review", json={"outcome": "complete"},
                              headers=_bearer(ADMIN))
        assert r.status_code == 200, r.text
        ids.append(claim_id)
    return ids


HOP_SUBJECTS: Final = ("claims.evt.claim_approved.v1", "notify.evt.publicity_published.v1", WINDOW_OPENED)


async def _approve_paced(
    claims: httpx.AsyncClient, nc: Any, namespace: str, ids: list[str], per_s: float
) -> tuple[list[float], dict[str, list[float]]]:
    """Approve at a steady rate; each approval's seconds until its window-opened event, and
    the seconds until each intermediate event of the path was published (where time goes)."""
    started: dict[str, float] = {}  # award id -> perf_counter just before the approval
    seen: dict[str, dict[str, float]] = {s: {} for s in HOP_SUBJECTS}
    answered: dict[str, float] = {}  # award id -> perf_counter when the approval answered
    all_seen = asyncio.Event()

    def watcher(logical: str) -> Any:
        async def on_msg(msg: Any) -> None:
            award_id = json.loads(msg.data)["data"]["award_id"]
            seen[logical].setdefault(award_id, time.perf_counter())
            if len(seen[WINDOW_OPENED]) >= len(ids):
                all_seen.set()
        return on_msg

    subs = [await nc.subscribe(f"{namespace}.{s}", cb=watcher(s)) for s in HOP_SUBJECTS]
    try:
        begin = time.perf_counter()
        for i, claim_id in enumerate(ids):
            delay = begin + i / per_s - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the offered load, not waiting for a result
            t0 = time.perf_counter()
            r = await claims.post(f"/claims/{claim_id}/decision", json={"decision": "approve"},
                                  headers=_bearer(LEADER))
            assert r.status_code == 200, r.text
            award_id = r.json()["award_id"]
            started[award_id] = t0
            answered[award_id] = time.perf_counter()
        await asyncio.wait_for(all_seen.wait(), EVENT_TIMEOUT_S)
    finally:
        for sub in subs:
            await sub.unsubscribe()
    done = seen[WINDOW_OPENED]
    missing = set(started) - set(done)
    assert not missing, f"{len(missing)} windows never opened"
    hops: dict[str, list[float]] = {}
    for name, when in (("approval answered (HTTP 200)", answered),
                       *((s, seen[s]) for s in HOP_SUBJECTS)):
        hops[name] = sorted((when[a] - t0) * 1000 for a, t0 in started.items() if a in when)
    # where the slowest approvals spent their time: the outliers are the p99
    slowest = sorted(started, key=lambda a: done[a] - started[a], reverse=True)[:SLOWEST_SHOWN]
    hops["slowest"] = [
        {name: round((when[a] - started[a]) * 1000, 1) for name, when in
         (("answered", answered), *((s, seen[s]) for s in HOP_SUBJECTS)) if a in when}
        for a in slowest
    ]  # type: ignore[assignment]
    return [done[a] - t0 for a, t0 in started.items()], hops


async def run(nats_url: str, admin_dsn: str, approvals: int, per_s: float, limit_s: float, *,
              replicas: int = 1) -> dict[str, Any]:
    """``replicas``: RURALFUND_NATS_REPLICAS of the services (3 on a cluster, benchmarks/cluster.py)."""
    limits = {
        "pg_commit_1_conn": await measure_pg_commit_rate(admin_dsn, limit_s, 1),
        "nats_publish_ack_each": await measure_nats_publish_rate(nats_url, limit_s, 1, replicas=replicas),
    }
    floor_ms = HOPS * (1 / limits["pg_commit_1_conn"] + 1 / limits["nats_publish_ack_each"]) * 1000
    db = f"bench_appr_{uuid.uuid4().hex[:8]}"
    dsn = await create_database(admin_dsn, db)
    namespace = f"b{uuid.uuid4().hex[:6]}"
    try:
        with tempfile.TemporaryDirectory(prefix="bench-approval-") as tmp:
            env = service_env(nats_url, dsn, namespace, RURALFUND_CLOCK="dev",
                              RURALFUND_DEV_CLOCK_FILE=str(Path(tmp) / "clock.json"),
                              RURALFUND_NOTIFY_SMTP_PORT="1",  # no mail server: mail is not on this path
                              RURALFUND_NATS_REPLICAS=str(replicas))
            async with (
                services_running(["claims", "funds", "notify"], env) as procs,
                httpx.AsyncClient(base_url=procs["claims"].url, timeout=REQUEST_TIMEOUT_S) as claims,
                httpx.AsyncClient(base_url=procs["funds"].url, timeout=REQUEST_TIMEOUT_S) as funds,
            ):
                ids = await _setup(claims, funds, approvals + 2)
                nc = await connect_nats(nats_url)
                try:
                    await _approve_paced(claims, nc, namespace, ids[:2], per_s)  # warm-up, untimed
                    lat, hops = await _approve_paced(claims, nc, namespace, ids[2:], per_s)
                finally:
                    await nc.close()
    finally:
        await drop_database(admin_dsn, db)
    ms = sorted(x * 1000 for x in lat)
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    return {
        "approvals": len(ms), "offered_per_s": per_s,
        "p50_ms": statistics.median(ms), "p99_ms": p99, "max_ms": ms[-1], "latencies_ms": ms,
        "hops_p50_ms": {k: statistics.median(v) for k, v in hops.items() if v and k != "slowest"},
        "slowest_ms": hops["slowest"],
        "limits": limits, "floor_ms": floor_ms, "p99_over_floor": p99 / floor_ms,
        "target": {"p99_ms": TARGET_P99_MS, "met": p99 < TARGET_P99_MS},
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="claims approval -> funds publicity window open, p50/p99")
    p.add_argument("--approvals", type=int, default=DEFAULT_APPROVALS, help=f"at most {MAX_APPROVALS}")
    p.add_argument("--per-second", type=float, default=DEFAULT_PER_S, help="approvals offered per second")
    p.add_argument("--limit-seconds", type=float, default=2.0, help="duration of each limit measurement")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    approvals = max(1, min(args.approvals, MAX_APPROVALS))
    per_s = min(max(args.per_second, 0.1), 100.0)
    with ExitStack() as stack:
        nats_url = os.environ.get("NATS_URL") or stack.enter_context(embedded_nats())
        dsn = os.environ.get("DATABASE_URL") or stack.enter_context(embedded_postgres())
        for url in (nats_url, dsn):
            if not is_loopback_url(url):
                raise SystemExit(f"refusing a non-loopback server: {url}")
        report = run_on_service_loop(run(nats_url, dsn, approvals, per_s, args.limit_seconds))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"approval -> window open over NATS: {report['approvals']} approvals at {per_s:g}/s: "
              f"p50 {report['p50_ms']:.1f} ms, p99 {report['p99_ms']:.1f} ms, max {report['max_ms']:.1f} ms; "
              f"floor {report['floor_ms']:.1f} ms (3 x commit + PubAck), p99/floor {report['p99_over_floor']:.1f}; "
              f"target p99 < {TARGET_P99_MS:.0f} ms: {'met' if report['target']['met'] else 'NOT met'}")
        print("published after the approval, p50: " + ", ".join(f"{k} {v:.1f} ms" for k, v in report["hops_p50_ms"].items()))
        for n, hops in enumerate(report["slowest_ms"], 1):
            print(f"slowest #{n}: " + ", ".join(f"{k.split('.')[-2] if '.' in k else k} {v} ms" for k, v in hops.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
