"""Optional pyinstrument profile of a benchmark's timed phase.

``with profiled("scans")`` profiles the block when ``RURALFUND_BENCH_PROFILE`` names a directory
(``.venv/bin/python -m benchmarks.scans`` with ``RURALFUND_BENCH_PROFILE=var/profiles``): the text
report (top frames) and the HTML go there as ``<name>.txt`` / ``<name>.html``. Unset, it costs
nothing. Sampling every 1 ms of the main thread, so the service code running in the same event
loop (scans, ledger) is what shows; a service in its own process is profiled with
``pyinstrument -m uvicorn ...`` instead (see README).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PROFILE_CPU_ENV", "PROFILE_ENV", "profiled"]

PROFILE_ENV = "RURALFUND_BENCH_PROFILE"
# With PROFILE_ENV set, also this: a service in its own process runs under cProfile instead and
# leaves ``<name>.pstats`` (CPU by function: `python -m pstats`), which pyinstrument's wall-time
# tree of a coroutine-heavy server does not show well.
PROFILE_CPU_ENV = "RURALFUND_BENCH_PROFILE_CPU"


@contextmanager
def profiled(name: str) -> Iterator[None]:
    target = os.environ.get(PROFILE_ENV)
    if not target:
        yield
        return
    from pyinstrument import Profiler

    out = Path(target)
    out.mkdir(parents=True, exist_ok=True)
    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        (out / f"{name}.txt").write_text(profiler.output_text(unicode=True, show_all=False))
        (out / f"{name}.html").write_text(profiler.output_html())
