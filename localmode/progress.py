"""Progress of one Terraform apply or destroy, read from its ``-json`` events.

:class:`StackProgress` counts resources done against the plan's total, remembers which
resources are still in flight and what failed (the resource and Terraform's own message),
and words the lines ``make up`` prints: one when the stack starts, one every few seconds
while it runs (:class:`Ticker`), one when it ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Event = dict[str, Any]
TICK_SECONDS = 3.0
PAST_TENSE = {"create": "created", "update": "updated", "delete": "deleted"}


@dataclass
class StackProgress:
    """What one `terraform apply|destroy -json` has reported so far."""

    stack: str
    verb: str = "apply"
    started: float = field(default_factory=time.monotonic)
    total: int | None = None
    done: int = 0
    done_by_action: dict[str, int] = field(default_factory=dict)  # "create", "update", "delete", ...
    in_flight: dict[str, float] = field(default_factory=dict)  # resource -> when it started
    failed_resource: str | None = None
    errors: list[str] = field(default_factory=list)
    finished: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_event(self, event: Event) -> None:
        """Account for one JSON line of Terraform's output."""
        kind = event.get("type")
        hook = event.get("hook") or {}
        address = (hook.get("resource") or {}).get("addr")
        with self._lock:
            changes = event.get("changes") or {}
            if kind == "change_summary" and changes.get("operation") == "plan":
                self.total = sum(int(changes.get(key, 0)) for key in ("add", "change", "remove"))
            elif hook.get("action") == "read":  # data sources: read, not created
                return
            elif kind == "apply_start" and address:
                self.in_flight[address] = time.monotonic()
            elif kind == "apply_complete" and address:
                self.in_flight.pop(address, None)
                self.done += 1
                action = str(hook.get("action") or "create")
                self.done_by_action[action] = self.done_by_action.get(action, 0) + 1
            elif kind == "apply_errored" and address:
                self.in_flight.pop(address, None)
                self.failed_resource = self.failed_resource or address
            elif kind == "diagnostic" and (event.get("diagnostic") or {}).get("severity") == "error":
                self.errors.append(_diagnostic_text(event["diagnostic"]))
                self.failed_resource = self.failed_resource or (event["diagnostic"].get("address") or None)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def start_line(self) -> str:
        return f"{self.stack}: {self.verb} started"

    def tick_line(self) -> str:
        """``local-data: 12/33 resources, 20 s (waiting on aws_sqs_queue.dlq, 18 s)``."""
        with self._lock:
            if self.total is None:
                return f"{self.stack}: planning, {self.seconds:.0f} s"
            line = f"{self.stack}: {self.done}/{self.total} resources, {self.seconds:.0f} s"
            if self.in_flight:
                address, since = min(self.in_flight.items(), key=lambda item: item[1])
                more = f" and {len(self.in_flight) - 1} more" if len(self.in_flight) > 1 else ""
                line += f" (waiting on {address}{more}, {time.monotonic() - since:.0f} s)"
            return line

    def end_line(self) -> str:
        """``local-app: done in 18 s, 3 resources created`` (or ``..., 3 resources: 1 created,
        1 updated, 1 deleted`` when an apply did more than create)."""
        line = f"{self.stack}: done in {self.seconds:.0f} s, {self.done} resources"
        if self.verb == "destroy":
            return f"{line} destroyed"
        if set(self.done_by_action) <= {"create"}:
            return f"{line} created"
        return f"{line}: " + ", ".join(f"{count} {PAST_TENSE.get(action, action)}"
                                        for action, count in sorted(self.done_by_action.items()))

    def failure_text(self, fallback: str = "") -> str:
        """The stack, the resource that failed and Terraform's own message."""
        where = f" at {self.failed_resource}" if self.failed_resource else ""
        message = "\n".join(self.errors) or fallback.strip() or "terraform exited with an error"
        return f"{self.stack}: {self.verb} failed{where} after {self.seconds:.0f} s:\n{message}"


def _diagnostic_text(diagnostic: dict[str, Any]) -> str:
    summary = str(diagnostic.get("summary") or "").strip()
    detail = str(diagnostic.get("detail") or "").strip()
    return f"  Error: {summary}" + (f"\n  {detail}" if detail else "")


class Ticker:
    """Prints a progress line for every running stack every `interval` seconds."""

    def __init__(self, running: Callable[[], Iterable[StackProgress]], log: Callable[[str], None],
                 interval: float = TICK_SECONDS) -> None:
        self._running, self._log, self._interval = running, log, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            for progress in list(self._running()):
                if not progress.finished:
                    self._log(progress.tick_line())
