"""Run checkov (offline, `terraform_json`) over synthesized stacks.

checkov lives in its own environment (`tools/checkov`, see its Pipfile) because it pins
boto3 and other libraries exactly. Skips live only in `.checkov.yaml`, each with a reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".checkov.yaml"


def checkov_binary() -> str:
    """`CHECKOV_BIN`, else the project's own checkov environment, else PATH."""
    candidates = [os.environ.get("CHECKOV_BIN"), str(ROOT / "tools/checkov/.venv/bin/checkov"),
                  shutil.which("checkov")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise FileNotFoundError("checkov not found: run `make install` (installs tools/checkov) or set CHECKOV_BIN")


@dataclass(frozen=True)
class CheckovReport:
    passed: int
    failed: list[dict[str, str]]
    skipped: int
    parsing_errors: int


def _scan_copy(stacks_dir: Path, target: Path) -> None:
    # checkov 3.3's terraform_json parser raises on the plain string in
    # `terraform.required_version` and then drops the whole file as a parsing error;
    # the settings block has nothing checkov checks, so the copy it scans omits it.
    for stack_file in sorted(stacks_dir.glob("*/cdk.tf.json")):
        document = json.loads(stack_file.read_text())
        document.get("terraform", {}).pop("required_version", None)
        out = target / stack_file.parent.name
        out.mkdir(parents=True)
        (out / "cdk.tf.json").write_text(json.dumps(document))


def run_checkov(stacks_dir: Path) -> CheckovReport:
    """Scan every `*/cdk.tf.json` below `stacks_dir` with the checked-in config."""
    with tempfile.TemporaryDirectory(prefix="checkov-") as tmp:
        _scan_copy(stacks_dir, Path(tmp))
        proc = subprocess.run(
            [checkov_binary(), "--config-file", str(CONFIG), "-d", tmp, "--framework", "terraform_json",
             "--skip-download", "--quiet", "--compact", "-o", "json"],
            capture_output=True, text=True, check=False, timeout=900,
        )
    if not proc.stdout.strip():
        raise RuntimeError(f"checkov produced no report (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed: list[dict[str, str]] = []
    passed = skipped = errors = 0
    for report in reports:
        summary = report["summary"]
        passed += summary["passed"]
        skipped += summary["skipped"]
        errors += summary["parsing_errors"]
        for check in report.get("results", {}).get("failed_checks", []):
            failed.append({"check_id": check["check_id"], "name": check["check_name"],
                           "resource": check["resource"], "file": check["file_path"]})
    return CheckovReport(passed=passed, failed=failed, skipped=skipped, parsing_errors=errors)


if __name__ == "__main__":
    result = run_checkov(ROOT / "cdktf.out" / "stacks")
    for failure in result.failed:
        print(f"FAILED {failure['check_id']} {failure['resource']} ({failure['file']}): {failure['name']}")
    print(f"checkov: {result.passed} passed, {len(result.failed)} failed, {result.skipped} skipped, "
          f"{result.parsing_errors} parsing errors")
