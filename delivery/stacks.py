"""The synthesized stacks of a workspace and the order Terraform must run them in.

Read from cdktf's own `manifest.json` in the synth output, so plan review, local mode
and tests agree on one dependency graph without importing the provider bindings.
Every remote-state stack also waits on `bootstrap` when `bootstrap` is part of the run:
its state bucket must exist before any other stack can initialise its backend, a
dependency cdktf does not record because it is not a cross-stack reference.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

BOOTSTRAP = "bootstrap"
T = TypeVar("T")


class StackGraphError(ValueError):
    """The synth output is missing, or names a stack or dependency that does not exist."""


@dataclass(frozen=True)
class Stack:
    """One synthesized stack: its name, the directory Terraform runs in, its upstream stacks."""

    name: str
    directory: Path
    dependencies: tuple[str, ...]

    @property
    def workspace(self) -> str | None:
        """`dev` for `dev-app`; None for `bootstrap`."""
        return None if self.name == BOOTSTRAP else self.name.split("-", 1)[0]


def load_stacks(outdir: Path, workspaces: Iterable[str] | None = None, *,
                with_bootstrap: bool = False) -> list[Stack]:
    """The stacks in `outdir` (a cdktf synth output), in dependency order.

    `workspaces` narrows the result to `<ws>-*` stacks; `with_bootstrap` adds `bootstrap`
    and makes every other selected stack depend on it.
    """
    manifest_path = outdir / "manifest.json"
    if not manifest_path.is_file():
        raise StackGraphError(f"{manifest_path} is missing: synthesize first (`make synth`)")
    manifest = json.loads(manifest_path.read_text())["stacks"]
    selected = set(workspaces) if workspaces is not None else None
    stacks: dict[str, Stack] = {}
    for name, entry in manifest.items():
        is_bootstrap = name == BOOTSTRAP
        if is_bootstrap and not with_bootstrap:
            continue
        if not is_bootstrap and selected is not None and name.split("-", 1)[0] not in selected:
            continue
        dependencies = tuple(entry.get("dependencies", ()))
        if with_bootstrap and not is_bootstrap:
            dependencies = (BOOTSTRAP, *dependencies)
        stacks[name] = Stack(name, outdir / entry["workingDirectory"], dependencies)
    if selected is not None:
        found = {stack.workspace for stack in stacks.values()}
        missing = sorted(selected - found)
        if missing:
            raise StackGraphError(f"no stacks for workspace(s) {', '.join(missing)} in {outdir}; "
                                  f"synthesize them first (WORKSPACES={','.join(sorted(selected))} make synth)")
    for stack in stacks.values():
        unknown = [dep for dep in stack.dependencies if dep not in stacks]
        if unknown:
            raise StackGraphError(f"{stack.name} depends on {', '.join(unknown)}, which is not among the stacks run")
    return _topological(stacks)


def _topological(stacks: dict[str, Stack]) -> list[Stack]:
    ordered: list[Stack] = []
    done: set[str] = set()
    pending = dict(sorted(stacks.items()))
    while pending:
        ready = [stack for stack in pending.values() if set(stack.dependencies) <= done]
        if not ready:
            raise StackGraphError(f"dependency cycle among {', '.join(pending)}")
        for stack in ready:
            ordered.append(stack)
            done.add(stack.name)
            del pending[stack.name]
    return ordered


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What happened to one stack in `run_in_order`: its result, its error, or the
    upstream stack that failed or did not finish (then it did not run)."""

    stack: Stack
    result: T | None = None
    error: BaseException | None = None
    waits_on: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.waits_on is None


def run_in_order(stacks: list[Stack], action: Callable[[Stack], T], *, max_parallel: int = 2,
                 proceed: Callable[[Stack, T], bool] = lambda _stack, _result: True,
                 cancelled: threading.Event | None = None) -> dict[str, Outcome[T]]:
    """Run `action` on every stack once all its dependencies succeeded, up to
    `max_parallel` at a time. A stack whose dependency failed, raised, or for which
    `proceed(dependency, result)` is False does not run: its outcome names that
    dependency in `waits_on`. Setting `cancelled` starts nothing new (stacks not started
    then have no outcome)."""
    return _OrderedRun(stacks, action, max(1, max_parallel), proceed, cancelled or threading.Event()).run()


class _OrderedRun(Generic[T]):
    def __init__(self, stacks: list[Stack], action: Callable[[Stack], T], limit: int,
                 proceed: Callable[[Stack, T], bool], cancelled: threading.Event) -> None:
        self.remaining, self.action, self.limit = list(stacks), action, limit
        self.proceed, self.cancelled = proceed, cancelled
        self.outcomes: dict[str, Outcome[T]] = {}
        self.blocked_by: dict[str, str] = {}  # stack -> the stack that stops it
        self.running: dict[Future[T], Stack] = {}

    def run(self) -> dict[str, Outcome[T]]:
        with ThreadPoolExecutor(max_workers=self.limit) as pool:
            self._start_ready(pool)
            while self.running:
                finished, _ = wait(self.running, return_when=FIRST_COMPLETED)
                for future in finished:
                    self._record(self.running.pop(future), future)
                self._start_ready(pool)
        return self.outcomes

    def _start_ready(self, pool: ThreadPoolExecutor) -> None:
        # One pass in dependency order settles every stack whose upstream is known.
        for stack in list(self.remaining):
            if self.cancelled.is_set():
                return
            upstream = next((self.blocked_by[d] for d in stack.dependencies if d in self.blocked_by), None)
            if upstream is not None:
                self.outcomes[stack.name] = Outcome(stack, waits_on=upstream)
                self.blocked_by[stack.name] = upstream
                self.remaining.remove(stack)
            elif all(d in self.outcomes for d in stack.dependencies) and len(self.running) < self.limit:
                self.running[pool.submit(self.action, stack)] = stack
                self.remaining.remove(stack)

    def _record(self, stack: Stack, future: Future[T]) -> None:
        error = future.exception()
        if error is not None:
            self.outcomes[stack.name] = Outcome(stack, error=error)
            self.blocked_by[stack.name] = stack.name
            return
        result = future.result()
        self.outcomes[stack.name] = Outcome(stack, result=result)
        if not self.proceed(stack, result):
            self.blocked_by[stack.name] = stack.name
