"""``make bench``: every benchmark, one table.

Runs each benchmark script as its own process (``--json``), one after another (never at once:
they share the CPU), and prints one table: figure | value | the machine limit it is divided by,
measured in that same benchmark's run | ratio | target | met?. The table goes to
``benchmarks/results/latest.md`` and every script's full JSON to ``latest.json``.

Sizes are chosen so the whole run takes a few minutes on a shared 2-core machine; each script
is bounded on its own as well (see its ``--help``). ``--only scans,claims`` runs a subset.
Servers: ``NATS_URL`` / ``DATABASE_URL`` when set (loopback only), else each script starts
embedded ones.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

REPO: Final = Path(__file__).resolve().parent.parent
RESULTS: Final = REPO / "benchmarks" / "results"
SCRIPT_TIMEOUT_S: Final = 420.0  # per script; a loaded machine must not make the run endless

# name -> arguments (bounded sizes for the combined run)
BENCHMARKS: Final[dict[str, list[str]]] = {
    "scans": ["--commands", "80", "--latency-commands", "15", "--seconds", "2"],
    "ledger": ["--payments", "1500", "--seconds", "2"],
    "claims": ["--claims", "4000", "--seconds", "20", "--limit-seconds", "2"],
    "approval": ["--approvals", "50", "--per-second", "5", "--limit-seconds", "2"],
    "startup": ["--idle", "5"],
    "cluster": ["--seconds", "2", "--approvals", "60", "--per-second", "5"],
}


@dataclass
class Row:
    figure: str
    value: float
    unit: str
    limit_name: str
    limit: float
    ratio: float
    target: str
    met: bool | None


def _scans(r: dict[str, Any]) -> list[Row]:
    t, lim = r["throughput"], r["limits"]
    commit = lim["pg_commit_1_conn"]
    return [Row("parcel scans, NATS -> PostgreSQL (committed)", t["scans_per_s"], "/s",
                "PG commits/s, 1 conn", commit, t["scans_per_s"] / commit, ">= 10,000/s",
                t["scans_per_s"] >= 10_000)]


def _ledger(r: dict[str, Any]) -> list[Row]:
    commit = r["pg_commit_1_conn"]
    led, one = r["ledger"], r["one_payment_per_tx"]
    return [
        Row(f"ledger postings, payment runs of {led['batch']}", led["postings_per_s"], "/s",
            "PG commits/s, 1 conn", commit, led["postings_per_s"] / commit, ">= 5,000/s",
            led["postings_per_s"] >= 5_000),
        Row("ledger payments, one per transaction", one["payments_per_s"], "/s",
            "PG commits/s, 1 conn", commit, one["payments_per_s"] / commit, "-", None),
    ]


def _claims(r: dict[str, Any]) -> list[Row]:
    load, commit = r["load"], r["limits"]["pg_commit_1_conn"]
    floor_ms = 1000 / commit
    return [
        Row("claim intake, POST /claims", load["accepted_per_s"], "/s", "PG commits/s, 1 conn", commit,
            load["accepted_per_s"] / commit, ">= 500/s", load["accepted_per_s"] >= 500),
        Row("claim intake p99", load["p99_ms"], "ms", "one PG commit, ms", floor_ms,
            load["p99_ms"] / floor_ms, "< 50 ms", load["p99_ms"] < 50),
    ]


def _approval(r: dict[str, Any]) -> list[Row]:
    return [Row("approval -> funds window open p99 (NATS)", r["p99_ms"], "ms",
                "3 x (PG commit + PubAck), ms", r["floor_ms"], r["p99_over_floor"], "< 200 ms",
                r["p99_ms"] < 200)]


def _startup(r: dict[str, Any]) -> list[Row]:
    rows = [Row("`ruralfund dev` -> all services ready", r["ready_s"], "s",
                "import floor (5 procs), s", r["import_floor_s"], r["ready_over_floor"], "< 10 s",
                r["ready_s"] < 10)]
    for svc, mib in r["idle_rss_mib"].items():
        rows.append(Row(f"idle RSS, {svc}", mib, "MiB", "RSS after import, MiB",
                        r["import_rss_mib"][svc], r["rss_over_import"][svc], "< 150 MB", mib < 150))
    return rows


def _cluster(r: dict[str, Any]) -> list[Row]:
    """R3 on the three-node cluster against R1 on a single server, both measured in this run."""
    pub, e2e = r["publish"], r["end_to_end"]
    one, r3, sync = pub["r1_single"], pub["r3_cluster"], pub["r1_cluster"]
    rows = []
    for key, how in (("ack_each_per_s", "ack each"), ("in_flight_100_per_s", "100 in flight")):
        rows.append(Row(f"JetStream publish {how}, R3 on 3 nodes (sync always)", r3[key], "/s",
                        "same, R1 on 1 server", one[key], r3[key] / one[key], "-", None))
    rows.append(Row("JetStream publish ack each, R1 on 3 nodes (sync always)", sync["ack_each_per_s"], "/s",
                    "same, R1 on 1 server", one["ack_each_per_s"], sync["ack_each_per_s"] / one["ack_each_per_s"],
                    "-", None))
    for pct in ("p50", "p99"):
        ms, base = e2e["r3_cluster"][f"{pct}_ms"], e2e["r1_single"][f"{pct}_ms"]
        rows.append(Row(f"approval -> funds window open {pct}, R3 on 3 nodes", ms, "ms",
                        "same path, R1 on 1 server, ms", base, ms / base,
                        "< 200 ms" if pct == "p99" else "-", ms < 200 if pct == "p99" else None))
    return rows


ROWS: Final[dict[str, Callable[[dict[str, Any]], list[Row]]]] = {
    "scans": _scans, "ledger": _ledger, "claims": _claims, "approval": _approval, "startup": _startup,
    "cluster": _cluster,
}


def _run(name: str, args: list[str]) -> tuple[dict[str, Any] | None, str, float]:
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *args, "--json"], cwd=REPO,
                              capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        return None, f"timed out after {SCRIPT_TIMEOUT_S:g} s", time.perf_counter() - started
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        return None, (proc.stderr or proc.stdout)[-1500:], seconds
    return json.loads(proc.stdout[proc.stdout.index("{"):]), "", seconds


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.2f}"


def _markdown(rows: list[Row], failures: dict[str, str], meta: dict[str, Any]) -> str:
    lines = [
        f"# Benchmark table ({meta['finished_at']})",
        "",
        (f"{meta['cpus']} CPUs, load average at start {meta['load_at_start']:.1f} / end "
         f"{meta['load_at_end']:.1f}, Python {meta['python']}, servers: {meta['servers']}, "
         f"{meta['seconds']:.0f} s in all. Every limit was measured in the same run as its figure."),
        "",
        "| figure | value | machine limit (same run) | ratio | target | met? |",
        "|---|---:|---|---:|---|---|",
    ]
    for r in rows:
        met = "-" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(f"| {r.figure} | {_fmt(r.value)} {r.unit} | {r.limit_name}: {_fmt(r.limit)} | "
                     f"{r.ratio:.2f} | {r.target} | {met} |")
    for name, why in failures.items():
        lines.append(f"| {name} | FAILED | | | | **no** |")
        lines += ["", f"`{name}` failed:", "```", why.strip(), "```"]
    return "\n".join(lines) + "\n"


def _print(rows: list[Row], failures: dict[str, str], meta: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"ruralfund benchmarks, {meta['cpus']} CPUs, load {meta['load_at_start']:.1f}"
                        f" -> {meta['load_at_end']:.1f}, {meta['seconds']:.0f} s")  # fmt: skip
    for col, just in (("figure", "left"), ("value", "right"), ("machine limit (same run)", "left"),
                      ("ratio", "right"), ("target", "left"), ("met?", "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in rows:
        met = "-" if r.met is None else ("yes" if r.met else "[red]no[/]")
        table.add_row(r.figure, f"{_fmt(r.value)} {r.unit}", f"{r.limit_name}: {_fmt(r.limit)}",
                      f"{r.ratio:.2f}", r.target, met)
    for name in failures:
        table.add_row(name, "[red]FAILED[/]", "", "", "", "[red]no[/]")
    console = Console()
    console.print(table)
    for name, why in failures.items():
        console.print(f"[red]{name} failed:[/]\n{why}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="every benchmark, one table")
    p.add_argument("--only", default="", help="comma-separated subset of " + ",".join(BENCHMARKS))
    p.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/latest.*")
    args = p.parse_args(argv)
    chosen = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    started, load_at_start = time.perf_counter(), os.getloadavg()[0]
    reports: dict[str, Any] = {}
    rows: list[Row] = []
    failures: dict[str, str] = {}
    for name in chosen:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        report, error, seconds = _run(name, BENCHMARKS[name])
        print(f"  {name}: {seconds:.0f} s{' FAILED' if report is None else ''}", file=sys.stderr, flush=True)
        if report is None:
            failures[name] = error
            continue
        reports[name] = report | {"_seconds": seconds, "_args": BENCHMARKS[name]}
        rows += ROWS[name](report)
    meta = {
        "finished_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(),
        "load_at_start": load_at_start, "load_at_end": os.getloadavg()[0],
        "python": platform.python_version(), "seconds": time.perf_counter() - started,
        "servers": "env (NATS_URL, DATABASE_URL)" if os.environ.get("NATS_URL") and os.environ.get("DATABASE_URL")
        else "embedded",
    }  # fmt: skip
    _print(rows, failures, meta)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "latest.md").write_text(_markdown(rows, failures, meta))
        (RESULTS / "latest.json").write_text(json.dumps(
            {"meta": meta, "rows": [asdict(r) for r in rows], "failures": failures, "reports": reports},
            indent=2, ensure_ascii=False) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
