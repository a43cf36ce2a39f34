"""Apply only what was reviewed (`python -m delivery.plan_review.apply`, what apply.yml runs),
with real Terraform against the deployed `local` workspace. To keep it short, the synth
copies here hold one stack, `local-security` (the same gate runs per stack): a reviewed
change of its key's description applies; an altered review, a review of another commit,
a saved plan in the artefact and a synth other than the reviewed one are refused with their
reason, and nothing is applied; no deploy log holds a secret. The change stays applied: this
module is its group's last (tests/conftest.py E2E_GROUPS), and every group restores its own copy
of the session's deployment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from delivery.terraform import plugin_cache_dir
from tests.e2e import plan_variants as pv
from tests.e2e.secret_scan import leaks

pytestmark = pytest.mark.e2e

STACK = "local-security"
REVIEWED, OTHER = "c0ffee" * 6 + "0000", "beef" * 10
DEPLOY_LOGS: list[str] = []


@pytest.fixture(scope="module")
def plugin_cache() -> Path:
    # The machine's provider cache, as every other Terraform run of the session uses: filling
    # an empty one copies the provider (about 700 MB, 20 s).
    return plugin_cache_dir()


def key_description(local_backend) -> str:
    kms = local_backend.client("kms")
    alias = next(a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/serverless-app-local-main")
    return str(kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]["Description"])


def security_only(local_backend, target: Path, description: str | None = None) -> Path:
    """A copy of the deployed synth whose manifest holds `local-security` only, its key's
    description changed when given."""
    synth = pv.copy_synth(local_backend.deployer.outdir, target)
    manifest = json.loads((synth / "manifest.json").read_text())
    manifest["stacks"] = {STACK: {**manifest["stacks"][STACK], "dependencies": []}}
    (synth / "manifest.json").write_text(json.dumps(manifest))
    if description is not None:
        def describe(document: dict) -> None:
            [key] = document["resource"]["aws_kms_key"].values()
            key["description"] = description
        pv.edit_stack(synth, STACK, describe)
    return synth


def reviewed(synth: Path, work: Path, plugin_cache: Path, commit: str = REVIEWED) -> Path:
    """The plan review of `synth`, and the artefact plan.yml would upload from it."""
    code, markdown, _document = pv.review(synth, work / "review", plugin_cache, commit=commit)
    assert code in (0, 2), markdown
    artefact = work / "artefact"
    artefact.mkdir()
    for suffix in (".json", ".md"):
        shutil.copyfile(work / "review" / f"local{suffix}", artefact / f"local{suffix}")
    return artefact


def deploy(synth: Path, artefact: Path, plugin_cache: Path, commit: str = REVIEWED) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "delivery.plan_review.apply", "local", "--review",
                           str(artefact / "local.json"), "--reviewed-commit", commit, "--synth-dir", str(synth)],
                          cwd=pv.ROOT, env={**os.environ, "TF_PLUGIN_CACHE_DIR": str(plugin_cache)},
                          capture_output=True, text=True, timeout=1800, check=False)
    print(proc.stdout, proc.stderr)
    DEPLOY_LOGS.append(proc.stdout + proc.stderr)
    return proc.returncode, proc.stdout + proc.stderr


def test_a_reviewed_change_is_applied(local_backend, plugin_cache, tmp_path):
    synth = security_only(local_backend, tmp_path / "out", "reviewed description 1")
    artefact = reviewed(synth, tmp_path, plugin_cache)
    code, output = deploy(synth, artefact, plugin_cache)
    assert code == 0, output
    assert f"[{STACK}] the plan matches the review: apply started" in output
    assert key_description(local_backend) == "reviewed description 1"


@pytest.fixture(scope="module")
def second_review(local_backend, plugin_cache, tmp_path_factory) -> tuple[Path, Path]:
    """One reviewed change (the synth and its artefact) that the refusal tests alter."""
    work = tmp_path_factory.mktemp("second")
    synth = security_only(local_backend, work / "out", "reviewed description 2")
    return synth, reviewed(synth, work, plugin_cache)


def altered(artefact: Path, target: Path) -> Path:
    shutil.copytree(artefact, target)
    return target


def test_an_altered_review_is_refused_and_nothing_applied(local_backend, second_review, plugin_cache, tmp_path):
    synth, artefact = second_review
    artefact = altered(artefact, tmp_path / "artefact")
    document = json.loads((artefact / "local.json").read_text())
    [change] = [c for s in document["stacks"] for c in s["changes"] if c["type"] == "aws_kms_key"]
    next(a for a in change["attributes"] if a["path"] == "description")["after"] = '"what the reviewer saw"'
    (artefact / "local.json").write_text(json.dumps(document))
    code, output = deploy(synth, artefact, plugin_cache)
    assert code == 1, output
    assert f"{STACK}: changes differ from the review in action or attribute values for aws_kms_key." in output
    assert "What to do: re-run the plan workflow" in output
    assert key_description(local_backend) == "reviewed description 1"


def test_a_review_of_another_commit_or_with_a_saved_plan_or_of_other_stacks_is_refused(
        local_backend, second_review, plugin_cache, tmp_path):
    synth, artefact = second_review
    code, output = deploy(synth, artefact, plugin_cache, commit=OTHER)
    assert code == 1 and f"the review is of commit {REVIEWED}, not of the merged pull request's head {OTHER}" in output
    other = security_only(local_backend, tmp_path / "other", "not what was reviewed")
    code, output = deploy(other, artefact, plugin_cache)
    assert code == 1 and "differ from the reviewed ones" in output, output
    # A saved plan inside the artefact (even the review run's own) is refused, never applied.
    with_plan = altered(artefact, tmp_path / "with-plan")
    shutil.copyfile(artefact.parent / "review" / "local" / f"{STACK}.tfplan", with_plan / f"{STACK}.tfplan")
    code, output = deploy(synth, with_plan, plugin_cache)
    assert code == 1 and f"carries saved plans ({STACK}.tfplan)" in output, output
    assert key_description(local_backend) == "reviewed description 1"


def test_no_deploy_log_holds_a_secret(local_backend, tmp_path):
    """The logs of every deploy above, the applied change's among them (apply.yml's step log)."""
    assert len(DEPLOY_LOGS) == 5 and any("apply started" in log for log in DEPLOY_LOGS)
    logs = tmp_path / "deploy.log"
    logs.write_text("\n".join(DEPLOY_LOGS))
    assert not leaks([logs], {local_backend.api.api_key})
