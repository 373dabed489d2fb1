"""Run a benchmark's coroutine on the event loop the services run on in production.

``ruralfund serve`` runs each service under uvicorn, which picks uvloop when it is installed
(a dependency of ``ruralfund-common`` on Linux and macOS). Benchmarks that run a service's
handlers in their own process must use the same loop, or they measure a slower loop than the
one deployed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
