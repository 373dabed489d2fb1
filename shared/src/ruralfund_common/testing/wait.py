"""Polling with a deadline: the only acceptable way for a test to wait for an event.

Why: a fixed ``sleep(0.5)`` is either too short on a loaded CI runner (flaky) or too long
everywhere else (slow). ``eventually`` returns as soon as the condition holds and fails with the
last observed value when it never does, so a failure says *what* was seen, not just "timeout".
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

__all__ = ["eventually"]

T = TypeVar("T")

DEFAULT_TIMEOUT_S: Final = 10.0
DEFAULT_INTERVAL_S: Final = 0.05

_NOTHING: Final = object()


async def eventually(
    predicate: Callable[[], T | Awaitable[T]],
    timeout: float = DEFAULT_TIMEOUT_S,
    interval: float = DEFAULT_INTERVAL_S,
    *,
    expect: object = _NOTHING,
    description: str | None = None,
    retry_on: tuple[type[BaseException], ...] = (AssertionError,),
) -> T:
    """Call ``predicate`` (sync or async) until it returns a truthy value; return that value.

    With ``expect=X`` the condition is ``value == X`` instead of truthiness (so ``expect=0``
    works), e.g. ``await eventually(lambda: count_rows(pool), expect=3)``.

    - An async predicate's call is bounded by the remaining time, so a hanging query (e.g. to
      a server a fault test just killed) cannot outlive the deadline.
    - Exceptions listed in ``retry_on`` (default: AssertionError, so predicates may use
      ``assert``) count as "not yet"; any other exception propagates at once.
    - On timeout raises AssertionError naming the last value or exception.
    """
    if not callable(predicate):
        raise TypeError("eventually() needs a callable (pass the function, not a coroutine)")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last_value: object = _NOTHING
    last_exc: BaseException | None = None
    attempts = 0
    while True:
        attempts += 1
        try:
            result = predicate()
            if inspect.isawaitable(result):
                remaining = max(deadline - loop.time(), 0.001)
                result = await asyncio.wait_for(result, remaining)
        except TimeoutError as exc:  # the async predicate itself outlived the deadline
            last_exc = exc
        except retry_on as exc:
            last_exc = exc
        else:
            if (result == expect) if expect is not _NOTHING else result:
                return result  # type: ignore[return-value]
            last_value, last_exc = result, None
        now = loop.time()
        if now >= deadline:
            what = description or getattr(predicate, "__qualname__", repr(predicate))
            if last_exc is not None:
                seen = f"last attempt raised {last_exc!r}"
            else:
                seen = f"last value {last_value!r}"
            if expect is not _NOTHING:
                seen = f"expected {expect!r}, {seen}"
            raise AssertionError(
                f"condition {what!r} not met within {timeout} s after {attempts} attempts; {seen}"
            ) from last_exc
        await asyncio.sleep(min(interval, deadline - now))
