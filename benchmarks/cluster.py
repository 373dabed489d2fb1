"""R1 vs R3: what the three-node JetStream cluster costs against the single server, measured in
the same run on the same nats-server binary.

* **Publish**: JetStream publishes per second awaiting each PubAck (a careful relay) and with
  100 in flight (the outbox relay pipelines), ``Nats-Msg-Id`` on each, to a file stream of
  - R1 on a single nats-server (today's default deployment, the limit the others are divided by),
  - R1 on the cluster (every node ``sync_interval: always``: the cost of fsyncing each write),
  - R3 on the cluster (a quorum of two fsynced copies before the PubAck: the production shape).
* **End to end**: the approval path of ``benchmarks/approval.py`` (HTTP approval -> claims ->
  funds and notify -> publicity window open, three relays and two consumer hops) with the
  services on the single server (RURALFUND_NATS_REPLICAS=1) and on the cluster
  (RURALFUND_NATS_REPLICAS=3, NATS_URL listing the three servers); p50/p99 of each.

Both are measured in an order that a drifting machine load cannot favour (A B C C B A; the
approvals in halves R1 R3 R3 R1).

The client connects to whichever server it picks, as the services do, so an R3 publish may
cross a route to the stream's leader.

Usage: ``.venv/bin/python -m benchmarks.cluster [--seconds S] [--approvals N] [--json]``
Bounded: each publish measurement ``--seconds`` (at most 30), at most MAX_APPROVALS approvals per
configuration; servers are started here (loopback), PostgreSQL is ``DATABASE_URL`` or embedded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ruralfund_common.testing.infra import embedded_nats, embedded_postgres, is_loopback_url
from ruralfund_common.testing.nats_cluster import SYNC_INTERVAL, nats_cluster

from benchmarks import approval
from benchmarks.limits import measure_nats_publish_rate
from benchmarks.loop import run as run_on_service_loop

MAX_SECONDS: Final = 30.0
MAX_APPROVALS: Final = 200
IN_FLIGHT: Final = 100
IN_FLIGHT_KEY: Final = f"in_flight_{IN_FLIGHT}_per_s"
#: The approval path's target (#10) holds on the cluster too.
TARGET_P99_MS: Final = approval.TARGET_P99_MS
SHAPES: Final = ("r1_single", "r1_cluster", "r3_cluster")


async def _publish(urls: dict[str, tuple[str, int]], seconds: float) -> dict[str, dict[str, float]]:
    """Each shape's ack-each and 100-in-flight rates, the mean of two measurements taken in
    the order A B C C B A: a machine whose load drifts during the run weighs on every shape
    alike (a shared 2-core machine's does, by a factor of two within minutes)."""
    rates: dict[str, dict[str, list[float]]] = {s: {"ack_each_per_s": [], IN_FLIGHT_KEY: []} for s in SHAPES}
    for shape in (*SHAPES, *reversed(SHAPES)):
        url, replicas = urls[shape]
        rates[shape]["ack_each_per_s"].append(await measure_nats_publish_rate(url, seconds, 1, replicas=replicas))
        rates[shape][IN_FLIGHT_KEY].append(await measure_nats_publish_rate(url, seconds, IN_FLIGHT, replicas=replicas))
    # the samples too: one stalled measurement (a loaded machine) shows as a pair far apart
    return {s: {**{k: statistics.fmean(v) for k, v in figures.items()},
                **{k.replace("_per_s", "_samples"): v for k, v in figures.items()}} for s, figures in rates.items()}


async def _end_to_end(urls: dict[str, tuple[str, int]], dsn: str, approvals: int, per_s: float,
                      seconds: float) -> dict[str, dict[str, Any]]:
    """The approval path on R1 and on R3, each in two halves run R1 R3 R3 R1 (same reason as
    the publish order), the halves' latencies pooled per shape."""
    pooled: dict[str, list[float]] = {"r1_single": [], "r3_cluster": []}
    for shape in ("r1_single", "r3_cluster", "r3_cluster", "r1_single"):
        url, replicas = urls[shape]
        report = await approval.run(url, dsn, max(1, approvals // 2), per_s, seconds, replicas=replicas)
        pooled[shape] += report["latencies_ms"]
    out = {}
    for shape, lat in pooled.items():
        ms = sorted(lat)
        out[shape] = {"approvals": len(ms), "offered_per_s": per_s, "p50_ms": statistics.median(ms),
                      "p99_ms": ms[min(len(ms) - 1, int(0.99 * len(ms)))], "max_ms": ms[-1]}
    return out


async def run(single_url: str, cluster: Any, dsn: str, seconds: float, approvals: int, per_s: float) -> dict[str, Any]:
    started = time.perf_counter()
    await cluster.ready()
    urls = {"r1_single": (single_url, 1), "r1_cluster": (cluster.url, 1), "r3_cluster": (cluster.url, 3)}
    publish = await _publish(urls, seconds)
    e2e = await _end_to_end(urls, dsn, approvals, per_s, seconds)
    base, r3 = publish["r1_single"], publish["r3_cluster"]
    return {
        "publish": publish,
        "end_to_end": e2e,
        "ratios": {
            "publish_ack_each_r3_over_r1": r3["ack_each_per_s"] / base["ack_each_per_s"],
            f"publish_in_flight_{IN_FLIGHT}_r3_over_r1": r3[IN_FLIGHT_KEY] / base[IN_FLIGHT_KEY],
            "publish_ack_each_sync_always_r1_over_r1":
                publish["r1_cluster"]["ack_each_per_s"] / base["ack_each_per_s"],
            "e2e_p50_r3_over_r1": e2e["r3_cluster"]["p50_ms"] / e2e["r1_single"]["p50_ms"],
            "e2e_p99_r3_over_r1": e2e["r3_cluster"]["p99_ms"] / e2e["r1_single"]["p99_ms"],
        },
        "target": {"e2e_p99_ms_r3": TARGET_P99_MS, "met": e2e["r3_cluster"]["p99_ms"] < TARGET_P99_MS},
        "cluster": {"nodes": len(cluster.nodes), "sync_interval": SYNC_INTERVAL},
        "seconds": time.perf_counter() - started,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="R1 (single server) vs R3 (three-node cluster): publish and end to end")
    p.add_argument("--seconds", type=float, default=3.0, help=f"each publish measurement (max {MAX_SECONDS:g})")
    p.add_argument("--approvals", type=int, default=60, help=f"approvals per shape (max {MAX_APPROVALS})")
    p.add_argument("--per-second", type=float, default=5.0, help="approvals offered per second")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    seconds = min(max(args.seconds, 0.5), MAX_SECONDS)
    approvals = max(1, min(args.approvals, MAX_APPROVALS))
    with ExitStack() as stack:
        single = stack.enter_context(embedded_nats())
        cluster = stack.enter_context(nats_cluster(3))
        dsn = os.environ.get("DATABASE_URL") or stack.enter_context(embedded_postgres())
        if not is_loopback_url(dsn):
            raise SystemExit(f"refusing a non-loopback server: {dsn}")
        report = run_on_service_loop(run(single, cluster, dsn, seconds, approvals, args.per_second))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    pub, ratios = report["publish"], report["ratios"]
    for shape in SHAPES:
        print(f"publish {shape}: ack each {pub[shape]['ack_each_per_s']:,.0f}/s, {IN_FLIGHT} in flight "
              f"{pub[shape][IN_FLIGHT_KEY]:,.0f}/s")
    for shape, e in report["end_to_end"].items():
        print(f"approval -> window {shape}: p50 {e['p50_ms']:.1f} ms, p99 {e['p99_ms']:.1f} ms ({e['approvals']} at "
              f"{e['offered_per_s']:g}/s)")
    print("R3/R1: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
