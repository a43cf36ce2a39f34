"""Apply the reviewed plans of one workspace (`deploy.yml`), or refuse.

`python -m devtools.plan_review.apply <ws> --review-dir <reviewed artefact> --synth-dir <synth>`
(`--print-hash`: only the hash of the synthesized stacks, to find the reviewed artefact)

Refuses (exit 1, nothing applied) when the synthesized stacks differ from the reviewed
ones (`synth_hash` in `<ws>.json`), or when the review was blocked or incomplete. Then,
one stack at a time in dependency order: a stack with reviewed changes gets
`terraform apply <saved plan>` (Terraform itself refuses a plan whose state moved on);
a stack that waited on an upstream in the review is planned now, after its upstream was
applied, through the same stateful gate (a block stops the deploy), and that plan is
applied.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from devtools.plan_review.model import EXIT_BLOCKED, EXIT_ERROR, StackReview, review_from_json
from devtools.plan_review.runner import StackPlanner, synth_hash
from devtools.plan_review.stateful import parse_allow
from devtools.stacks import Stack, load_stacks
from devtools.terraform import Terraform


class Refused(RuntimeError):
    """The deploy must not go ahead; the message says why and what to do."""


def _apply_stack(terraform: Terraform, stack: Stack, reviewed: StackReview, planner: StackPlanner) -> None:
    if reviewed.status == "planned" and not reviewed.has_changes:
        print(f"[{stack.name}] no changes in the review: skipped", flush=True)
        return
    if reviewed.status == "waits":
        fresh = planner(stack)
        if fresh.blocking:
            raise Refused(f"{stack.name}: planned after its upstream, it would destroy or replace "
                          f"{', '.join(c.address for c in fresh.blocking)}; review and allow it first")
        plan_file = planner.review_dir / (stack.workspace or stack.name) / str(fresh.plan_file)
    elif reviewed.status == "planned":
        terraform.init(stack.directory)
        plan_file = planner.review_dir / (stack.workspace or stack.name) / str(reviewed.plan_file)
    else:
        raise Refused(f"{stack.name}: the review has no plan for it ({reviewed.reason})")
    print(f"[{stack.name}] apply {plan_file.name}: started", flush=True)
    terraform.run(stack.directory, "apply", "-input=false", "-no-color", str(plan_file.resolve()), timeout=3600)
    print(f"[{stack.name}] applied", flush=True)


def apply_reviewed(workspace: str, review_dir: Path, synth_dir: Path) -> None:
    review = review_from_json(json.loads((review_dir / f"{workspace}.json").read_text()))
    stacks = load_stacks(synth_dir, [workspace])
    current = synth_hash(stacks)
    if current != review.synth_hash:
        raise Refused(f"the synthesized stacks of {workspace} ({current[:16]}) differ from the reviewed ones "
                      f"({review.synth_hash[:16]}): run the plan review on this commit first")
    if review.exit_code in (EXIT_ERROR, EXIT_BLOCKED):
        raise Refused(f"the review of {workspace} exited {review.exit_code}: nothing is applied")
    reviewed = {s.stack: s for s in review.stacks}
    terraform = Terraform(plugin_cache=Path(os.environ.get("TF_PLUGIN_CACHE_DIR") or ".cache/terraform-plugins"))
    try:
        planner = StackPlanner(terraform, review_dir, parse_allow(os.environ.get("ALLOW_STATEFUL_CHANGES")))
        for stack in stacks:
            _apply_stack(terraform, stack, reviewed[stack.name], planner)
    finally:
        terraform.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.plan_review.apply", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace")
    parser.add_argument("--review-dir", type=Path)
    parser.add_argument("--synth-dir", type=Path, required=True)
    parser.add_argument("--print-hash", action="store_true", help="only print the hash of the synthesized stacks")
    args = parser.parse_args(argv)
    try:
        if args.print_hash:
            print(synth_hash(load_stacks(args.synth_dir, [args.workspace])))
            return 0
        if args.review_dir is None:
            parser.error("--review-dir is required to apply")
        apply_reviewed(args.workspace, args.review_dir, args.synth_dir)
    except Exception as err:  # every failure is reported the same way: what failed, then exit 1
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
