"""What the emulator's background workers (stream delivery, CodeDeploy deployments) share."""

from __future__ import annotations

import queue
import time
from typing import Any


def wait_drained(work: queue.Queue[Any], timeout: float) -> bool:
    """Wait until every item put on `work` was marked done (`task_done`); False on timeout."""
    deadline = time.monotonic() + timeout
    while work.unfinished_tasks:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
