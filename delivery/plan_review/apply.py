"""Apply one workspace after its review (`apply.yml`), or refuse: apply only what was reviewed.

`python -m delivery.plan_review.apply <ws> --review <ws>.json --reviewed-commit <sha> --synth-dir <synth>`
(`--print-hash`: only the hash of the synthesized stacks)

No plan file is ever taken from outside: the deploy plans again, with the deploy role, and
applies that fresh plan only when it does what the review showed (delivery.plan_review.compare).
The review is a comparison baseline whose origin apply.yml establishes (a plan.yml run of
this repository on the merged pull request's head commit); here it must also name that
commit, carry no saved plans, be of exactly these synthesized stacks, and be complete and
not blocked. Then, one stack at a time in dependency order: plan, compare, apply. A stack that
waited on an upstream in the review is planned after that upstream is applied and goes
ahead only when it destroys or replaces nothing stateful. Exit 0 applied, 1 refused/failed
(the message says what differs and what to do; nothing after the refusing stack is applied).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from delivery.plan_review.compare import differences
from delivery.plan_review.model import EXIT_BLOCKED, EXIT_ERROR, StackReview, WorkspaceReview, review_from_json
from delivery.plan_review.runner import StackPlanner, synth_hash
from delivery.stacks import Stack, load_stacks
from delivery.terraform import Terraform

WHAT_TO_DO = ("re-run the plan workflow on an up-to-date pull request and merge what it shows "
              "(or look for drift or another deploy since the review)")


class Refused(RuntimeError):
    """The deploy must not go ahead; the message says why and what to do."""


def check_review(review: WorkspaceReview, review_path: Path, reviewed_commit: str, current_hash: str) -> None:
    """The review's own checks, before anything is planned."""
    plans = sorted(p.name for p in review_path.parent.rglob("*.tfplan"))
    if plans:
        raise Refused(f"the reviewed artefact carries saved plans ({', '.join(plans[:3])}): plans are never "
                      "accepted from outside, the deploy plans itself; remove them from plan.yml's upload")
    if review.commit != reviewed_commit:
        raise Refused(f"the review is of commit {review.commit}, not of the merged pull request's head "
                      f"{reviewed_commit}: {WHAT_TO_DO}")
    if review.synth_hash != current_hash:
        raise Refused(f"the synthesized stacks of {review.workspace} ({current_hash[:16]}) differ from the reviewed "
                      f"ones ({review.synth_hash[:16]}): {WHAT_TO_DO}")
    if review.exit_code in (EXIT_ERROR, EXIT_BLOCKED):
        raise Refused(f"the review of {review.workspace} exited {review.exit_code} (incomplete or blocked): "
                      "nothing is applied")


def _gate(stack: Stack, reviewed: StackReview, fresh: StackReview) -> None:
    if reviewed.status == "waits":
        if fresh.blocking:
            raise Refused(f"{stack.name}: planned after its upstream, it would destroy or replace "
                          f"{', '.join(c.address for c in fresh.blocking)}; review and allow it first")
        return
    if reviewed.status != "planned":
        raise Refused(f"{stack.name}: the review has no plan for it ({reviewed.reason})")
    problems = differences(stack.name, reviewed, fresh)
    if problems:
        raise Refused("the plan differs from the review, nothing more is applied:\n  " + "\n  ".join(problems)
                      + f"\nWhat to do: {WHAT_TO_DO}")


def apply_reviewed(workspace: str, review_path: Path, reviewed_commit: str, synth_dir: Path,
                   work_dir: Path) -> None:
    review = review_from_json(json.loads(review_path.read_text()))
    stacks = load_stacks(synth_dir, [workspace])
    check_review(review, review_path, reviewed_commit, synth_hash(stacks))
    reviewed = {s.stack: s for s in review.stacks}
    terraform = Terraform(plugin_cache=Path(os.environ.get("TF_PLUGIN_CACHE_DIR") or ".cache/terraform-plugins"))
    try:
        # The deploy's own plans; never uploaded (they hold state in clear).
        planner = StackPlanner(terraform, work_dir, frozenset())
        for stack in stacks:
            fresh = planner(stack)
            _gate(stack, reviewed[stack.name], fresh)
            if not fresh.has_changes:
                print(f"[{stack.name}] no changes: nothing to apply", flush=True)
                continue
            plan_file = work_dir / (stack.workspace or stack.name) / str(fresh.plan_file)
            print(f"[{stack.name}] the plan matches the review: apply started", flush=True)
            terraform.run(stack.directory, "apply", "-input=false", "-no-color", str(plan_file.resolve()),
                          timeout=3600)
            print(f"[{stack.name}] applied", flush=True)
    finally:
        terraform.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m delivery.plan_review.apply", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace")
    parser.add_argument("--review", type=Path, help="the reviewed <workspace>.json")
    parser.add_argument("--reviewed-commit", help="the merged pull request's head commit the review must name")
    parser.add_argument("--synth-dir", type=Path, required=True)
    parser.add_argument("--print-hash", action="store_true", help="only print the hash of the synthesized stacks")
    args = parser.parse_args(argv)
    try:
        if args.print_hash:
            print(synth_hash(load_stacks(args.synth_dir, [args.workspace])))
            return 0
        if args.review is None or not args.reviewed_commit:
            parser.error("--review and --reviewed-commit are required to apply")
        with tempfile.TemporaryDirectory(prefix="deploy-plans-") as work_dir:
            apply_reviewed(args.workspace, args.review, args.reviewed_commit, args.synth_dir, Path(work_dir))
    except Exception as err:  # every failure is reported the same way: what failed, then exit 1
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
