"""Run `terraform init`, `plan -out` and `show -json` on every stack of a synth output,
in dependency order (independent stacks in parallel), and summarize each plan.

A stack runs only when each upstream stack is deployed and its outputs do not change:
otherwise its plan would read remote state that is missing or about to change, so it is
reported as waiting on that upstream instead of being planned against it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from delivery.plan_review.model import StackReview
from delivery.plan_review.summary import summarize
from delivery.stacks import Stack, run_in_order
from delivery.terraform import Terraform

PLAN_TIMEOUT_SECONDS = 1800
_SKIPPED = {".terraform", ".terraform.lock.hcl"}


def synth_hash(stacks: Iterable[Stack]) -> str:
    """SHA-256 of every synthesized file of these stacks (configuration and assets; not
    Terraform's working files), so a deploy can tell it has exactly what was reviewed."""
    digest = hashlib.sha256()
    for stack in sorted(stacks, key=lambda s: s.name):
        for path in sorted(p for p in stack.directory.rglob("*") if p.is_file()):
            relative = path.relative_to(stack.directory)
            if _SKIPPED & set(relative.parts):
                continue
            digest.update(f"{stack.name}/{relative.as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


_HINTS = (
    (("NoSuchBucket", "bucket does not exist"), "the state bucket does not exist: deploy `bootstrap` first "
                                                "(local: `make up`)"),
    (("request send failed", "connection refused"), "the backend's endpoint does not answer (local: is `make up` "
                                                    "running, at EMULATOR_ENDPOINT?)"),
    (("No valid credential sources", "ExpiredToken", "InvalidClientTokenId"),
     "no valid AWS credentials for this workspace"),
)


def _hint(output: str) -> str:
    lowered = output.lower()
    for needles, hint in _HINTS:
        if any(needle.lower() in lowered for needle in needles):
            return hint
    return "Terraform's output follows"


class StackPlanner:
    """Plans one stack into `review_dir/<workspace>/<stack>.tfplan` and summarizes it."""

    def __init__(self, terraform: Terraform, review_dir: Path, allowed: frozenset[str],
                 log: Callable[[str], None] = print) -> None:
        self.terraform, self.review_dir, self.allowed, self.log = terraform, review_dir, allowed, log

    def __call__(self, stack: Stack) -> StackReview:
        started = time.monotonic()
        self.log(f"[{stack.name}] init, plan, show: started")
        plans_dir = self.review_dir / (stack.workspace or stack.name)
        plans_dir.mkdir(parents=True, exist_ok=True)
        plan_file = (plans_dir / f"{stack.name}.tfplan").resolve()
        steps: list[str] = []
        for step in (("init", "-input=false", "-no-color"),
                     ("plan", "-input=false", "-no-color", "-lock-timeout=120s", f"-out={plan_file}")):
            step_started = time.monotonic()
            result = (self.terraform.init(stack.directory, check=False) if step[0] == "init"
                      else self.terraform.run(stack.directory, *step, check=False, timeout=PLAN_TIMEOUT_SECONDS))
            if result.returncode != 0:
                output = result.stdout[-3000:] + result.stderr[-3000:]
                raise RuntimeError(f"terraform {step[0]} failed in {stack.directory}: {_hint(output)}\n{output}")
            steps.append(f"{step[0]} {time.monotonic() - step_started:.0f} s")
        shown = self.terraform.run(stack.directory, "show", "-json", "-no-color", str(plan_file))
        stack_json = json.loads((stack.directory / "cdk.tf.json").read_text())
        review = summarize(stack.name, json.loads(shown.stdout), stack_json, self.allowed)
        seconds = time.monotonic() - started
        counts = ", ".join(f"{n} {k}" for k, n in review.counts.items())
        self.log(f"[{stack.name}] planned in {seconds:.0f} s ({', '.join(steps)}): {counts}")
        return dataclasses.replace(review, plan_file=plan_file.name, seconds=round(seconds, 1))


def _ready_for_dependents(_stack: Stack, review: StackReview) -> bool:
    return review.deployed and not review.changed_outputs


def _waiting(stack: Stack, root: StackReview) -> StackReview:
    """The review of a stack not planned because of `root`, the upstream stack that failed,
    is not deployed, or changes its outputs (the first one in dependency order)."""
    if root.status == "error":
        reason = f"not planned: `{root.stack}` failed"
    elif not root.deployed:
        reason = f"waits on `{root.stack}`: not deployed yet; planned once it is applied"
    else:
        reason = f"waits on `{root.stack}`: its outputs change; planned once it is applied"
    return StackReview(stack=stack.name, status="waits", waits_on=root.stack, reason=reason, deployed=False)


def plan_stacks(stacks: list[Stack], planner: StackPlanner, max_parallel: int) -> list[StackReview]:
    """Reviews of `stacks` in their order: planned, waiting on an upstream, or failed."""
    outcomes = run_in_order(stacks, planner, max_parallel=max_parallel, proceed=_ready_for_dependents)
    reviews: dict[str, StackReview] = {}
    for stack in stacks:  # dependency order: the stack that stops another is reviewed first
        outcome = outcomes[stack.name]
        if outcome.result is not None:
            reviews[stack.name] = outcome.result
        elif outcome.error is not None:
            planner.log(f"[{stack.name}] failed: {outcome.error}")
            reviews[stack.name] = StackReview(stack=stack.name, status="error",
                                              reason=str(outcome.error).splitlines()[0])
        else:
            reviews[stack.name] = _waiting(stack, reviews[str(outcome.waits_on)])
            planner.log(f"[{stack.name}] {reviews[stack.name].reason}")
    return [reviews[s.name] for s in stacks]
