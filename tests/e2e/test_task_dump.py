"""`kill -USR1 <pid>` of a service logs every asyncio task with the awaits it is suspended in
(docs/runbook.md, "A service that answers but stopped consuming")."""

from __future__ import annotations

import json
import signal
import sys

import pytest
from ruralfund_common.testing.wait import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(sys.platform == "win32", reason="no SIGUSR1 on Windows")]


async def test_sigusr1_logs_each_consumer_and_what_it_awaits(system):
    system.procs["funds"].send_signal(signal.SIGUSR1)

    def dumped() -> dict[str, list[str]]:
        """Waits for everything the test checks, not only the first line: the dump is written a
        line per task, in no fixed order, and under load the log was read between two of its
        lines (the relay's line not written yet: issue 18, item 7)."""
        text = system.logs["funds"].read_text(errors="replace")
        # only whole lines: the last one may be half written as we read
        lines = text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]
        tasks = {}
        for line in lines:
            if '"task_dump"' in line:
                entry = json.loads(line)
                tasks[entry["task"]] = entry["awaiting"]
        assert "funds__reserve_approved_award" in tasks, sorted(tasks)
        assert "outbox-relay-funds" in tasks, sorted(tasks)
        return tasks

    tasks = await eventually(dumped, timeout=30, description="task dump in the funds log")
    consumer = tasks["funds__reserve_approved_award"]
    assert any("runtime.py" in frame and "_consume" in frame for frame in consumer), consumer
    assert any("outbox.py" in frame and "_run" in frame for frame in tasks["outbox-relay-funds"])
    assert system.procs["funds"].poll() is None  # still running
