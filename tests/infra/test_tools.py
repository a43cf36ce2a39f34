"""Real tools on the synthesized output: terraform validate, checkov, and main.py itself."""

from __future__ import annotations

import filecmp
import ipaddress
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from modules.config import ENVIRONMENT_VARIABLES
from tests.infra.conftest import SESSION_ENVIRONMENT, synth_into
from tests.infra.test_stacks import expected_stacks

ROOT = Path(__file__).resolve().parents[2]

# What a user may well have exported in their shell: every variable the configuration
# reads, each with a value that would change (or break) a synth.
USERS_OWN_CONFIGURATION = {
    "WORKSPACES": "dev", "PROJECT_NAME": "someone-else", "DEPLOY_REGION": "not-a-region",
    "STATE_BUCKET": "Not_A_Bucket", "ALERT_EMAILS": "me@example.com", "API_DOMAIN_NAME": "api.example.com",
    "API_CERTIFICATE_ARN": "arn:aws:acm:us-west-2:123456789012:certificate/12345678-1234-1234-1234-123456789012",
    "EMULATOR_ENDPOINT": "http://127.0.0.1:9", "VPC_CIDR": "10.99.0.0/16", "API_KIND": "http",
    "GITHUB_REPOSITORY": "someone-else/their-repo",
}


@pytest.fixture
def users_own_configuration(monkeypatch):
    """The test process runs with the user's configuration exported."""
    assert set(USERS_OWN_CONFIGURATION) == set(ENVIRONMENT_VARIABLES)
    for name, value in USERS_OWN_CONFIGURATION.items():
        monkeypatch.setenv(name, value)


def session_environment(**environ: str) -> dict[str, str]:
    """This process's environment without any configuration variable the project reads
    (a user's PROJECT_NAME, API_KIND, ... must not leak into a test), plus the session
    synth's configuration and `environ`."""
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT_VARIABLES}
    return {**env, **SESSION_ENVIRONMENT, **environ}


@pytest.mark.terraform
@pytest.mark.parametrize("stack", expected_stacks())
def test_terraform_validate(synth, tool_runs, stack):
    # Every stack of the session in one validate run (tests/infra/validation.py): this stack's verdict.
    validation = tool_runs.validation.result()
    assert validation.modules[stack] == synth.stacks_dir / stack
    assert validation.problems(stack) == []
    assert validation.unattributed() == []


@pytest.mark.slow
def test_checkov_zero_failed_checks(synth, tool_runs):
    report = tool_runs.start_checkov(synth.stacks_dir).result()
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
    env = session_environment(CDKTF_OUTDIR=str(tmp_path / "out"), **environ)
    return subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.mark.parametrize(("environ", "expected"), [
    ({"WORKSPACES": "qa"}, "WORKSPACES: 'qa' is not a workspace; allowed: local, dev, staging, prod"),
    ({"ALERT_EMAILS": "not-an-email"}, "ALERT_EMAILS (alert_emails): 'not-an-email' is not an e-mail address"),
    ({"VPC_CIDR": "10.0.0.0/99"}, "VPC_CIDR (network.vpc_cidr) (value '10.0.0.0/99')"),
])
@pytest.mark.usefixtures("users_own_configuration")
def test_main_rejects_bad_configuration_and_writes_nothing(tmp_path, environ, expected):
    result = run_main(tmp_path, **environ)
    assert result.returncode == 2
    assert expected in result.stderr
    assert result.stderr.count("\n  - ") == 1, result.stderr  # that problem only
    assert "allowed" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_overrides_take_effect_in_a_narrowed_synth(tmp_path):
    """One extra synth, of two workspaces, with the state bucket and the VPC CIDR overridden
    (in this process, whose provider bindings the session synth loaded; main.py reads the same
    variables, see the cdktf list test)."""
    stacks_dir = synth_into(tmp_path / "out", {**SESSION_ENVIRONMENT, "WORKSPACES": "dev,prod",
                                               "STATE_BUCKET": "acme-terraform-state",
                                               "VPC_CIDR": "172.16.0.0/20"}).stacks_dir
    names = sorted(p.name for p in stacks_dir.iterdir())
    assert names == [n for n in expected_stacks() if n == "bootstrap" or n.split("-")[0] in ("dev", "prod")]

    def stack(name: str) -> dict:
        return json.loads((stacks_dir / name / "cdk.tf.json").read_text())

    for name in names:
        if name == "bootstrap":
            (bucket,) = [b for b in stack(name)["resource"]["aws_s3_bucket"].values()
                         if b["//"]["metadata"]["path"] == "bootstrap/state/bucket"]
            assert bucket["bucket"] == "acme-terraform-state"
            continue
        assert stack(name)["terraform"]["backend"]["s3"]["bucket"] == "acme-terraform-state", name
        for remote in stack(name).get("data", {}).get("terraform_remote_state", {}).values():
            assert remote["config"]["bucket"] == "acme-terraform-state", name
    vpc_cidr = ipaddress.IPv4Network("172.16.0.0/20")
    for workspace, azs in (("dev", 2), ("prod", 3)):
        network = stack(f"{workspace}-network")["resource"]
        assert [v["cidr_block"] for v in network["aws_vpc"].values()] == [str(vpc_cidr)]
        subnets = [ipaddress.IPv4Network(s["cidr_block"]) for s in network["aws_subnet"].values()]
        assert len(subnets) == 2 * azs and all(s.subnet_of(vpc_cidr) and s.prefixlen == 24 for s in subnets)
        assert len(set(subnets)) == len(subnets)


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@pytest.mark.terraform
@pytest.mark.usefixtures("users_own_configuration")
def test_cdktf_list_through_the_project_install_lists_exactly_the_stacks(synth, tmp_path):
    """`cdktf list` with the project's own CLI (node_modules) and app command
    (`python3 -m pipenv run python main.py`, cdktf.json), synthesizing into a temporary directory:
    it lists every stack, and what it synthesized is the session synth byte for byte (the synth
    is deterministic, and main.py builds what the stacks are built from)."""
    cdktf = ROOT / "node_modules" / ".bin" / "cdktf"
    assert cdktf.exists(), "run `make install` (npm ci)"
    env = session_environment(
        # As the Makefile sets them: pipenv uses the project's .venv, quietly.
        PIPENV_VENV_IN_PROJECT="1", PIPENV_NOSPIN="1", PIPENV_YES="1", PIPENV_IGNORE_VIRTUALENVS="1",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20", CHECKPOINT_DISABLE="1", CDKTF_DISABLE_TELEMETRY="true",
    )
    env.pop("VIRTUAL_ENV", None)
    # pipenv as `make install` installs it: a module of python3 (its script need not be on PATH).
    assert json.loads((ROOT / "cdktf.json").read_text())["app"] == "python3 -m pipenv run python main.py"
    outdir = tmp_path / "out"
    result = subprocess.run([str(cdktf), "list", "--output", str(outdir)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = ANSI.sub("", result.stdout).splitlines()
    header = next(i for i, line in enumerate(lines) if line.split() == ["Stack", "name", "Path"])
    rows: list[list[str]] = []
    for cells in (line.split() for line in lines[header + 1:] if line.strip()):
        if len(cells) == 2:
            rows.append(cells)
        else:  # the CLI wraps a long path at 80 columns
            (rest,) = cells
            rows[-1][1] += rest
    assert all(path == str(outdir / "stacks" / name) for name, path in rows), rows
    assert sorted(name for name, _path in rows) == expected_stacks()
    second = outdir / "stacks"
    assert sorted(p.name for p in second.iterdir()) == synth.stack_names()
    for stack in synth.stack_names():
        first_files = sorted(p.relative_to(synth.stacks_dir / stack) for p in (synth.stacks_dir / stack).rglob("*")
                             if p.is_file() and ".terraform" not in p.parts and p.name != ".terraform.lock.hcl")
        second_files = sorted(p.relative_to(second / stack) for p in (second / stack).rglob("*") if p.is_file())
        assert first_files == second_files, stack  # the same stack JSON and artifact assets
        for relative in first_files:
            assert filecmp.cmp(synth.stacks_dir / stack / relative, second / stack / relative, shallow=False), relative
