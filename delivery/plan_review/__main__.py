"""`make plan WORKSPACE=<ws>[,<ws>...]`: synthesize once, plan every stack, write the review.

Writes `<review-dir>/<ws>.md` (the comment), `<review-dir>/<ws>.json` (the full review)
and `<review-dir>/<ws>/<stack>.tfplan` (the saved plans). Exit codes: 0 no changes,
2 changes, 3 blocked (a stateful resource would be destroyed or replaced and is not
allowed in `ALLOW_STATEFUL_CHANGES`), 1 error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from delivery.plan_review.model import EXIT_BLOCKED, EXIT_CHANGES, EXIT_ERROR, WorkspaceReview
from delivery.plan_review.render import EXIT_MEANING, render
from delivery.plan_review.runner import StackPlanner, plan_stacks, synth_hash
from delivery.plan_review.stateful import parse_allow
from delivery.stacks import StackGraphError, load_stacks
from delivery.terraform import Terraform, TerraformError

ROOT = Path(__file__).resolve().parents[2]


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m delivery.plan_review", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspaces", help="comma-separated workspaces, e.g. dev,staging or local")
    parser.add_argument("--review-dir", type=Path, default=ROOT / "plan-review")
    parser.add_argument("--synth-dir", type=Path, help="synth output (default: <review-dir>/cdktf.out)")
    parser.add_argument("--no-synth", action="store_true", help="review the synth output already in --synth-dir")
    parser.add_argument("--plugin-cache", type=Path, default=Path(os.environ.get("TF_PLUGIN_CACHE_DIR") or
                                                                   ROOT / ".cache" / "terraform-plugins"))
    parser.add_argument("--max-parallel", type=int, default=int(os.environ.get("PLAN_PARALLELISM", "2")))
    parser.add_argument("--commit", default=os.environ.get("GITHUB_SHA"))
    return parser.parse_args(argv)


def synthesize(workspaces: list[str], outdir: Path) -> None:
    """One synth of the given workspaces (and `bootstrap`) into `outdir`, with `main.py`."""
    started = time.monotonic()
    print(f"synth {','.join(workspaces)} into {outdir}: started", flush=True)
    env = {**os.environ, "WORKSPACES": ",".join(workspaces), "CDKTF_OUTDIR": str(outdir.resolve())}
    proc = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"synth failed (python main.py, WORKSPACES={env['WORKSPACES']}): fix the "
                           f"configuration or code it names\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    print(f"synth: done in {time.monotonic() - started:.0f} s", flush=True)


def write_review(review: WorkspaceReview, review_dir: Path) -> Path:
    document = {**dataclasses.asdict(review), "exit_code": review.exit_code,
                "exit_meaning": EXIT_MEANING[review.exit_code]}
    (review_dir / f"{review.workspace}.json").write_text(json.dumps(document, indent=2) + "\n")
    markdown = review_dir / f"{review.workspace}.md"
    markdown.write_text(render(review))
    return markdown


def overall(codes: list[int]) -> int:
    for code in (EXIT_ERROR, EXIT_BLOCKED, EXIT_CHANGES):
        if code in codes:
            return code
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    workspaces = [w.strip() for w in args.workspaces.split(",") if w.strip()]
    synth_dir = args.synth_dir or args.review_dir / "cdktf.out"
    args.review_dir.mkdir(parents=True, exist_ok=True)
    try:
        if not args.no_synth:
            synthesize(workspaces, synth_dir)
        stacks = load_stacks(synth_dir, workspaces)
        terraform = Terraform(plugin_cache=args.plugin_cache)
    except (RuntimeError, StackGraphError, TerraformError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    started = time.monotonic()
    try:
        planner = StackPlanner(terraform, args.review_dir, parse_allow(os.environ.get("ALLOW_STATEFUL_CHANGES")),
                               log=lambda line: print(line, flush=True))
        reviews = plan_stacks(stacks, planner, args.max_parallel)
    finally:
        terraform.close()
    codes = []
    for workspace in workspaces:
        own = [s for s in stacks if s.workspace == workspace]
        review = WorkspaceReview(workspace, tuple(r for r in reviews if r.stack.startswith(f"{workspace}-")),
                                 synth_hash(own), args.commit)
        markdown = write_review(review, args.review_dir)
        codes.append(review.exit_code)
        print(f"review of {workspace}: {markdown} and {markdown.with_suffix('.json')} "
              f"(exit {review.exit_code}: {EXIT_MEANING[review.exit_code]})")
    print(f"planned {len(stacks)} stacks in {time.monotonic() - started:.0f} s")
    return overall(codes)


if __name__ == "__main__":
    sys.exit(main())
