"""``ruralfund dev`` until every service is ready, and each service's idle resident memory.

Ready: ``python -m ruralfund dev --free-ports`` (what ``make run`` runs) is spawned against the
run's own database and NATS namespace; the clock stops when it prints its "ruralfund is
running" table, i.e. every service answered /readyz (migrations, streams, consumers, relay up),
the dev users exist and the demo program is loaded. Then every service idles ``--idle``
seconds and its VmRSS is read from /proc/<pid>/status; then ``dev`` is interrupted (Ctrl-C).

Limits, measured in the same run, for the same four services: the *import floor*, four
``python -c "import ruralfund_<svc>.app"`` processes started at once, the least any start-up
could take (interpreter + imports, no I/O); and the RSS of such a process after the import
(what the code costs before it does anything). Ratios: ready time / import floor; idle RSS /
import RSS.

Usage: ``.venv/bin/python -m benchmarks.startup [--idle S] [--json]``
Bounded: one dev run (at most READY_TIMEOUT_S), loopback servers only. With no NATS_URL /
DATABASE_URL, dev starts its own embedded servers and that start-up is included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ruralfund_common.testing.infra import create_database, drop_database, is_loopback_url

from benchmarks.procs import REPO, rss_kib

SERVICES: Final = ("claims", "funds", "logistics", "notify", "console")  # what `ruralfund dev` runs
READY_TIMEOUT_S: Final = 120.0
DEFAULT_IDLE_S: Final = 5.0
MAX_IDLE_S: Final = 60.0
STOP_TIMEOUT_S: Final = 60.0  # dev's own stop takes up to ~15 s plus uvicorn's grace
LEFTOVER_GRACE_S: Final = 5.0
TARGET_READY_S: Final = 10.0
TARGET_RSS_MIB: Final = 150.0
_RUNNING: Final = re.compile(r"ruralfund is running \(ready in ([0-9.]+) s\)")


def import_floor() -> tuple[float, dict[str, int]]:
    """Seconds for the four services' imports in four processes at once; each one's RSS (KiB)
    right after its import."""
    code = "import sys, ruralfund_{svc}.app; print('ok', flush=True); sys.stdin.read()"
    started = time.perf_counter()
    procs = {
        svc: subprocess.Popen([sys.executable, "-c", code.format(svc=svc)], cwd=REPO,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for svc in SERVICES
    }  # fmt: skip
    rss = {}
    try:
        for svc, p in procs.items():
            assert p.stdout is not None
            if p.stdout.readline().strip() != b"ok":
                raise RuntimeError(f"importing ruralfund_{svc}.app failed")
        seconds = time.perf_counter() - started
        rss = {svc: rss_kib(p.pid) for svc, p in procs.items()}
    finally:
        for p in procs.values():
            p.kill()
            p.wait()
    return seconds, rss


def _children(pid: int) -> dict[str, int]:
    """The service processes ``ruralfund dev`` started: service -> pid."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid != pid:
                continue
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if b"serve" in argv:
            found[argv[argv.index(b"serve") + 1].decode()] = int(stat.parent.name)
    return found


def dev_ready(env: dict[str, str], var_dir: Path, idle_s: float) -> dict[str, Any]:
    """Spawn ``ruralfund dev``; seconds until its ready table; the services' idle RSS."""
    log = var_dir / "dev-output.log"
    command = [sys.executable, "-m", "ruralfund", "dev", "--free-ports", "--var-dir", str(var_dir / "dev"),
               "--program", str(REPO / "programs/xinping-2021.yaml")]  # fmt: skip
    started = time.perf_counter()
    pids: dict[str, int] = {}
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)  # fmt: skip
        try:
            ready_s, reported = _wait_running(proc, log, started)
            pids = _children(proc.pid)
            assert set(pids) == set(SERVICES), f"service processes found: {pids}"
            time.sleep(idle_s)  # idling is the point: nothing to wait for
            rss = {svc: rss_kib(pid) for svc, pid in pids.items()}
        finally:
            proc.send_signal(signal.SIGINT)  # Ctrl-C: dev stops its services (SIGTERM, 15 s)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            _kill_leftovers(pids, log)
    return {"ready_s": ready_s, "dev_reported_s": reported, "idle_rss_kib": rss}


def _kill_leftovers(pids: dict[str, int], log: Path) -> None:
    """Service processes of this run still alive after dev stopped (seen on a loaded machine:
    a service that did not finish its SIGTERM shutdown): killed, and said so on stderr."""
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids.values()):
        time.sleep(0.1)  # their own shutdown may still be finishing
    for svc, pid in pids.items():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone, as it should be
        if b"serve" in argv and svc.encode() in argv:  # still the service dev started
            tail = log.read_text(errors="replace")[-800:]
            print(f"startup benchmark: {svc} (pid {pid}) outlived ruralfund dev; killed. "
                  f"dev's last output:\n{tail}", file=sys.stderr)  # fmt: skip
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _wait_running(proc: subprocess.Popen[bytes], log: Path, started: float) -> tuple[float, float]:
    deadline = started + READY_TIMEOUT_S
    while time.perf_counter() < deadline:
        text = log.read_text(errors="replace")
        if m := _RUNNING.search(text):
            return time.perf_counter() - started, float(m.group(1))
        if proc.poll() is not None:
            raise RuntimeError(f"ruralfund dev exited with {proc.returncode}:\n{text[-3000:]}")
        time.sleep(0.05)  # polling a child's output for one line
    raise RuntimeError(f"ruralfund dev not ready in {READY_TIMEOUT_S:g} s")


def run(nats_url: str | None, admin_dsn: str | None, idle_s: float) -> dict[str, Any]:
    floor_s, import_rss = import_floor()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RURALFUND_") and k not in ("NATS_URL", "DATABASE_URL")}  # fmt: skip
    env.update({"RURALFUND_NAMESPACE": f"b{uuid.uuid4().hex[:6]}", "RURALFUND_LOG_LEVEL": "WARNING"})
    db = f"bench_dev_{uuid.uuid4().hex[:8]}"
    if admin_dsn:
        env["DATABASE_URL"] = asyncio.run(create_database(admin_dsn, db))
    if nats_url:
        env["NATS_URL"] = nats_url
    try:
        with tempfile.TemporaryDirectory(prefix="bench-dev-") as tmp:
            dev = dev_ready(env, Path(tmp), idle_s)
    finally:
        if admin_dsn:
            asyncio.run(drop_database(admin_dsn, db))
    rss_mib = {s: kib / 1024 for s, kib in dev["idle_rss_kib"].items()}
    import_mib = {s: kib / 1024 for s, kib in import_rss.items()}
    return {
        "ready_s": dev["ready_s"], "dev_reported_s": dev["dev_reported_s"], "import_floor_s": floor_s,
        "ready_over_floor": dev["ready_s"] / floor_s, "idle_s": idle_s,
        "idle_rss_mib": rss_mib, "import_rss_mib": import_mib,
        "rss_over_import": {s: rss_mib[s] / import_mib[s] for s in SERVICES},
        "servers": "env" if nats_url and admin_dsn else "embedded (started by dev, included)",
        "target": {"ready_s": TARGET_READY_S, "rss_mib": TARGET_RSS_MIB,
                   "ready_met": dev["ready_s"] < TARGET_READY_S,
                   "rss_met": max(rss_mib.values()) < TARGET_RSS_MIB},
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="ruralfund dev ready time and idle RSS per service")
    p.add_argument("--idle", type=float, default=DEFAULT_IDLE_S, help="seconds of idling before RSS")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    nats_url, dsn = os.environ.get("NATS_URL"), os.environ.get("DATABASE_URL")
    for url in (nats_url, dsn):
        if url and not is_loopback_url(url):
            raise SystemExit(f"refusing a non-loopback server: {url}")
    report = run(nats_url, dsn, min(max(args.idle, 0.0), MAX_IDLE_S))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"ruralfund dev ready in {report['ready_s']:.2f} s (import floor {report['import_floor_s']:.2f} s, "
              f"x{report['ready_over_floor']:.1f}); idle RSS MiB: "
              + ", ".join(f"{s} {v:.0f} (import {report['import_rss_mib'][s]:.0f})"
                          for s, v in report["idle_rss_mib"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
