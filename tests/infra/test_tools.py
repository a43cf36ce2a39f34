"""Real tools on the synthesized output: terraform validate, checkov, and main.py itself."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.checkov import run_checkov
from devtools.terraform import Terraform
from tests.infra.conftest import SESSION_ENVIRONMENT
from tests.infra.test_stacks import expected_stacks

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def terraform():
    runner = Terraform()
    yield runner
    runner.close()


@pytest.mark.terraform
@pytest.mark.parametrize("stack", expected_stacks())
def test_terraform_validate(synth, terraform, stack):
    result = terraform.validate(synth.stacks_dir / stack)
    assert "Success! The configuration is valid." in result.stdout


def test_checkov_zero_failed_checks(synth):
    report = run_checkov(synth.stacks_dir)
    assert report.parsing_errors == 0
    assert report.failed == []
    assert report.passed > 300  # every stack was really scanned


def test_checkov_config_gives_a_reason_for_every_skip():
    lines = (ROOT / ".checkov.yaml").read_text().splitlines()
    skips = [i for i, line in enumerate(lines) if line.strip().startswith("- CKV")]
    assert skips
    for index in skips:
        assert lines[index - 1].strip().startswith("#"), f"no reason above {lines[index].strip()}"


def run_main(tmp_path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WORKSPACES", "ALERT_EMAILS", "VPC_CIDR")}
    env.update({"CDKTF_OUTDIR": str(tmp_path / "out"), **environ})
    return subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.mark.parametrize(("environ", "expected"), [
    ({"WORKSPACES": "qa"}, "WORKSPACES: 'qa' is not a workspace; allowed: local, dev, staging, prod"),
    ({"ALERT_EMAILS": "not-an-email"}, "ALERT_EMAILS (alert_emails): 'not-an-email' is not an e-mail address"),
    ({"VPC_CIDR": "10.0.0.0/99"}, "VPC_CIDR (network.vpc_cidr) (value '10.0.0.0/99')"),
])
def test_main_rejects_bad_configuration_and_writes_nothing(tmp_path, environ, expected):
    result = run_main(tmp_path, **environ)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "allowed" in result.stderr
    assert not (tmp_path / "out").exists()


def test_two_synths_are_byte_identical(synth, tmp_path):
    result = run_main(tmp_path, **SESSION_ENVIRONMENT)
    assert result.returncode == 0, result.stderr
    second = tmp_path / "out" / "stacks"
    assert sorted(p.name for p in second.iterdir()) == synth.stack_names()
    for stack in synth.stack_names():
        first_files = sorted(p.relative_to(synth.stacks_dir / stack) for p in (synth.stacks_dir / stack).rglob("*")
                             if p.is_file() and ".terraform" not in p.parts and p.name != ".terraform.lock.hcl")
        second_files = sorted(p.relative_to(second / stack) for p in (second / stack).rglob("*") if p.is_file())
        assert first_files == second_files, stack  # the same stack JSON and artifact assets
        for relative in first_files:
            assert filecmp.cmp(synth.stacks_dir / stack / relative, second / stack / relative, shallow=False), relative
    assert result.stdout.count("synthesized stack ") == len(synth.stack_names())
