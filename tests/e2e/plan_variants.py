"""Synth outputs of the `local` workspace with one change each, for the plan review tests.

`synth_local` is the one place that builds the app with settings overrides (the modules/
refactor may rename `settings_for`/`build_app`: change it here only). Changes that no
setting can express (another key for the items table, a stateful resource removed from the
code) are made on a copy of the synthesized JSON, which is what Terraform reads.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ITEMS_TABLE = ("aws_dynamodb_table", "data_table_")
IDEMPOTENCY_TABLE = ("aws_dynamodb_table", "data_idempotency_table_")


def synth_local(outdir: Path, endpoint: str, overrides: dict[str, Any] | None = None) -> Path:
    """Synthesize `local` (and `bootstrap`) for `endpoint` with settings `overrides`."""
    from modules.app_builder import build_app  # the provider bindings: seconds to import
    from modules.config import settings_for

    settings = settings_for("local", {**os.environ, "EMULATOR_ENDPOINT": endpoint}, overrides)
    build_app([settings], outdir=str(outdir)).synth()
    return outdir


def copy_synth(source: Path, target: Path) -> Path:
    """A copy of a synth output without Terraform's working files."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".terraform", "*.tfplan"))
    return target


def edit_stack(outdir: Path, stack: str, edit: Callable[[dict[str, Any]], None]) -> None:
    path = outdir / "stacks" / stack / "cdk.tf.json"
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document, indent=2))


def resource_name(document: dict[str, Any], rtype: str, prefix: str) -> str:
    (name,) = [n for n in document["resource"][rtype] if n.startswith(prefix)]
    return name


def change_items_table_key(document: dict[str, Any]) -> None:
    """The items table keyed by `sk2` instead of `sk`: DynamoDB cannot change a table's
    key in place, so Terraform must replace the table (no setting changes the key)."""
    table = document["resource"][ITEMS_TABLE[0]][resource_name(document, *ITEMS_TABLE)]
    table["range_key"] = "sk2"
    table["attribute"] = [a if a["name"] != "sk" else {**a, "name": "sk2"} for a in table["attribute"]]


def remove_resource(document: dict[str, Any], rtype: str, prefix: str) -> str:
    """Remove a resource as if its code were deleted, with every resource and output of
    the stack that refers to it (transitively); returns its address."""
    name = resource_name(document, rtype, prefix)
    pending = [f"{rtype}.{name}"]
    removed: list[str] = []
    while pending:
        address = pending.pop()
        kind, _, item = address.partition(".")
        if kind == "output":
            document["output"].pop(item, None)
        else:
            document["resource"][kind].pop(item, None)
        removed.append(address)
        pattern = re.compile(re.escape(address) + r"\b")
        for other_type, resources in document["resource"].items():
            pending += [f"{other_type}.{n}" for n, body in resources.items()
                        if pattern.search(json.dumps(body)) and f"{other_type}.{n}" not in removed + pending]
        pending += [f"output.{n}" for n, body in document.get("output", {}).items()
                    if pattern.search(json.dumps(body)) and f"output.{n}" not in removed + pending]
    return f"{rtype}.{name}"


LOG = "plan-review.log"  # what the step prints, as a workflow's log would hold it


def review(synth_dir: Path, review_dir: Path, plugin_cache: Path, allow: str | None = None,
           workspace: str = "local", commit: str | None = None) -> tuple[int, str, dict[str, Any]]:
    """`python -m delivery.plan_review <workspace> --no-synth`: exit code, Markdown, JSON
    (its output is kept in `review_dir/plan-review.log`)."""
    env = {key: value for key, value in os.environ.items() if key != "ALLOW_STATEFUL_CHANGES"}
    if allow is not None:
        env["ALLOW_STATEFUL_CHANGES"] = allow
    proc = subprocess.run([sys.executable, "-m", "delivery.plan_review", workspace, "--no-synth",
                           "--synth-dir", str(synth_dir), "--review-dir", str(review_dir),
                           "--plugin-cache", str(plugin_cache), *(["--commit", commit] if commit else [])],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False)
    print(proc.stdout, proc.stderr)
    review_dir.mkdir(parents=True, exist_ok=True)
    (review_dir / LOG).write_text(proc.stdout + proc.stderr)
    markdown = review_dir / f"{workspace}.md"
    document = json.loads((review_dir / f"{workspace}.json").read_text()) if proc.returncode != 1 else {}
    return proc.returncode, markdown.read_text() if markdown.exists() else "", document
