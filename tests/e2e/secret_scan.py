"""What the workflows upload and log, scanned for secrets: the API key values and every
value Terraform marks sensitive in the saved plans (which themselves never leave the runner)."""

from __future__ import annotations

import fnmatch
import json
import zipfile
from pathlib import Path

import yaml

from delivery.plan_review.secrets import sensitive_values
from delivery.terraform import Terraform

ROOT = Path(__file__).resolve().parents[2]


def uploaded_patterns(workflow: str = "plan.yml", workspace: str = "local") -> list[str]:
    """The `path:` patterns of every upload-artifact step of a workflow, for one workspace."""
    document = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())
    patterns = []
    for job in document["jobs"].values():
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/upload-artifact@"):
                patterns += [line.strip().replace("${{ matrix.workspace }}", workspace)
                             for line in step["with"]["path"].splitlines() if line.strip()]
    return patterns


def uploaded_files(review_dir: Path, patterns: list[str]) -> list[Path]:
    """The files of `review_dir` (the workflow's `plan-review/`) the patterns select."""
    return [path for path in review_dir.rglob("*") if path.is_file() and any(
        fnmatch.fnmatch(f"plan-review/{path.relative_to(review_dir).as_posix()}", p) for p in patterns)]


def plan_secrets(review_dir: Path, synth_dir: Path, terraform: Terraform) -> set[str]:
    """Every value marked sensitive in the saved plans under `review_dir/<ws>/`."""
    found: set[str] = set()
    for plan in review_dir.glob("*/*.tfplan"):
        shown = terraform.run(synth_dir / "stacks" / plan.stem, "show", "-json", "-no-color", str(plan.resolve()))
        found |= sensitive_values(json.loads(shown.stdout))
    return found


def leaks(files: list[Path], secrets: set[str]) -> list[str]:
    """`file: secret prefix` for every secret found in a file (as text, or JSON-escaped)."""
    found = []
    for path in files:
        if zipfile.is_zipfile(path):  # a saved plan: its members (the prior state among them)
            with zipfile.ZipFile(path) as archive:
                text = "".join(archive.read(name).decode(errors="replace") for name in archive.namelist())
        else:
            text = path.read_text(errors="replace")
        for secret in secrets:
            if secret in text or json.dumps(secret)[1:-1] in text:
                found.append(f"{path.name}: {secret[:4]}…")
    return found
