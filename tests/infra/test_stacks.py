"""Every workspace gets its layer stacks, each with its own remote state and provider."""

from __future__ import annotations

import inspect
import json
import subprocess
from pathlib import Path

import pytest

from localmode.deploy import LocalDeployer
from modules.base_stack import local_state_path
from modules.config import WORKSPACES, load_settings
from tests.infra.conftest import SESSION_ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]
LOCAL_OUTDIR = inspect.signature(LocalDeployer).parameters["outdir"].default

LAYERS = ("security", "network", "data", "app", "observability")


def expected_stacks() -> list[str]:
    names = ["bootstrap", "ci"]  # ci: the session sets GITHUB_REPOSITORY and synthesizes every workspace
    for settings in load_settings(SESSION_ENVIRONMENT):
        names += [f"{settings.workspace}-{layer}" for layer in LAYERS
                  if layer != "network" or settings.network.enabled]
    return sorted(names)


def test_exactly_the_expected_stacks(synth):
    assert synth.stack_names() == expected_stacks()
    assert "local-network" not in synth.stack_names()  # switched off in local


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_layer_stacks_have_s3_state_with_native_locking(synth, workspace):
    for name in (n for n in synth.stack_names() if n.startswith(f"{workspace}-")):
        backend = synth.stack(name)["terraform"]["backend"]
        assert list(backend) == ["s3"]
        s3 = backend["s3"]
        layer = name.split("-", 1)[1]
        assert s3["key"] == f"serverless-app/{workspace}/{layer}.tfstate"
        assert s3["bucket"] == "serverless-app-tfstate-us-west-2"
        assert s3["encrypt"] is True
        assert s3["kms_key_id"] == "alias/serverless-app-tfstate"  # the bootstrap state key
        assert s3["use_lockfile"] is True


ACCOUNT_STACKS = ("bootstrap", "ci")  # once per account, deployed by hand, local state


def test_account_stacks_have_local_backends(synth):
    for name in ACCOUNT_STACKS:
        assert list(synth.stack(name)["terraform"]["backend"]) == ["local"]
    assert synth.stack("ci")["terraform"]["backend"]["local"]["path"] == "../../../state/ci.tfstate"


def test_every_stack_pins_terraform_and_provider(synth):
    for name in synth.stack_names():
        terraform = synth.stack(name)["terraform"]
        assert terraform["required_version"] == ">= 1.10"
        assert terraform["required_providers"]["aws"]["version"] == "5.100.0"


def test_default_tags_on_every_stack(synth):
    for name in synth.stack_names():
        (provider,) = synth.stack(name)["provider"]["aws"]
        tags = provider["default_tags"][0]["tags"]
        workspace, _, layer = name.partition("-")
        assert tags["Project"] == "serverless-app"
        assert tags["ManagedBy"] == "cdktf"
        assert tags["Layer"] == (layer or name)
        if name not in ACCOUNT_STACKS:
            assert tags["Environment"] == workspace


def test_only_local_points_at_the_emulator(synth):
    for name in synth.stack_names():
        stack = synth.stack(name)
        (provider,) = stack["provider"]["aws"]
        backend = stack["terraform"]["backend"].get("s3", {})
        if name.startswith("local-"):
            endpoints = provider["endpoints"][0]
            assert set(endpoints.values()) == {"http://127.0.0.1:4566"}
            assert {"dynamodb", "lambda", "s3", "sfn", "sns", "sqs", "kms", "iam"} <= set(endpoints)
            assert provider["s3_use_path_style"] is True
            assert backend["endpoints"]["s3"] == "http://127.0.0.1:4566"
            assert backend["use_path_style"] is True
        else:
            assert "endpoints" not in provider and "access_key" not in provider
            assert "endpoints" not in backend


def test_cross_stack_values_come_from_remote_state(synth):
    data_sources = synth.stack("dev-data")["data"]["terraform_remote_state"]
    (security_state,) = data_sources.values()
    assert security_state["backend"] == "s3"
    assert security_state["config"]["key"] == "serverless-app/dev/security.tfstate"


def test_local_remote_state_reads_from_the_emulator(synth):
    (security_state,) = synth.stack("local-data")["data"]["terraform_remote_state"].values()
    assert security_state["config"]["endpoints"]["s3"] == "http://127.0.0.1:4566"
    assert security_state["config"]["use_path_style"] is True


EMULATOR_ONLY_PROVIDER = {"access_key": "test", "secret_key": "test", "skip_credentials_validation": True,
                          "skip_metadata_api_check": "true", "skip_requesting_account_id": True,
                          "s3_use_path_style": True}
EMULATOR_ONLY_BACKEND = {"access_key": "test", "secret_key": "test", "skip_credentials_validation": True,
                         "skip_metadata_api_check": True, "skip_requesting_account_id": True,
                         "skip_region_validation": True, "use_path_style": True}


def test_provider_and_backend_region_of_every_stack(synth):
    for name in synth.stack_names():
        stack = synth.stack(name)
        (provider,) = stack["provider"]["aws"]
        assert provider["region"] == "us-west-2", name
        if name not in ACCOUNT_STACKS:
            assert stack["terraform"]["backend"]["s3"]["region"] == "us-west-2", name
        for remote in stack.get("data", {}).get("terraform_remote_state", {}).values():
            assert remote["config"]["region"] == "us-west-2", name


def test_test_credentials_and_skip_flags_only_in_local(synth):
    for name in synth.stack_names():
        stack = synth.stack(name)
        (provider,) = stack["provider"]["aws"]
        backend = stack["terraform"]["backend"].get("s3", {})
        remotes = [r["config"] for r in stack.get("data", {}).get("terraform_remote_state", {}).values()]
        if name.startswith("local-"):
            assert {k: provider.get(k) for k in EMULATOR_ONLY_PROVIDER} == EMULATOR_ONLY_PROVIDER, name
            for config in (backend, *remotes):
                assert {k: config.get(k) for k in EMULATOR_ONLY_BACKEND} == EMULATOR_ONLY_BACKEND, name
        else:
            assert not set(EMULATOR_ONLY_PROVIDER) & set(provider), name
            for config in (backend, *remotes):
                assert not set(EMULATOR_ONLY_BACKEND) & set(config), name
                assert "endpoints" not in config, name


def test_bootstrap_state_lives_outside_the_synth_output(synth):
    """`cdktf deploy bootstrap` runs Terraform in `<outdir>/stacks/bootstrap/`; its state
    must survive `make clean` (which deletes cdktf.out/) and stay out of git."""
    path = synth.stack("bootstrap")["terraform"]["backend"]["local"]["path"]
    assert path == local_state_path("bootstrap") == "../../../state/bootstrap.tfstate"
    resolved = (synth.stacks_dir / "bootstrap" / path).resolve()
    assert resolved == (synth.outdir.parent / "state" / "bootstrap.tfstate").resolve()
    assert not resolved.is_relative_to(synth.outdir.resolve())
    # In the repository: state/bootstrap.tfstate, git-ignored and untouched by `make clean`.
    in_repo = (ROOT / "cdktf.out" / "stacks" / "bootstrap" / path).resolve()
    assert in_repo == ROOT / "state" / "bootstrap.tfstate"
    ignored = subprocess.run(["git", "check-ignore", "-q", "state/bootstrap.tfstate"], cwd=ROOT, check=False)
    assert ignored.returncode == 0
    clean = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.strip().startswith("rm -rf"))
    assert "state" not in clean.split() and "cdktf.out" in clean.split()
    # Local mode synthesizes into .local/cdktf.out/: its emulator's bootstrap state never
    # shares a file with a real account's.
    local = (LOCAL_OUTDIR / "stacks" / "bootstrap" / path).resolve()
    assert local == ROOT / ".local" / "state" / "bootstrap.tfstate" != in_repo


def test_overrides_reach_provider_and_backend(tmp_path):
    """EMULATOR_ENDPOINT and STATE_BUCKET as the base stack renders them (a bare layer
    stack per workspace: the layers' resources are not needed for this)."""
    from cdktf import App

    from modules.base_stack import LayerStack

    environ = {"WORKSPACES": "local,dev", "EMULATOR_ENDPOINT": "http://localhost:5000",
               "STATE_BUCKET": "acme-terraform-state"}
    app = App(outdir=str(tmp_path))
    for settings in load_settings(environ):
        LayerStack(app, settings, "probe")
    app.synth()
    local = json.loads((tmp_path / "stacks" / "local-probe" / "cdk.tf.json").read_text())
    dev = json.loads((tmp_path / "stacks" / "dev-probe" / "cdk.tf.json").read_text())
    (local_provider,) = local["provider"]["aws"]
    assert set(local_provider["endpoints"][0].values()) == {"http://localhost:5000"}
    assert local["terraform"]["backend"]["s3"]["endpoints"] == {"s3": "http://localhost:5000",
                                                                "sts": "http://localhost:5000"}
    (dev_provider,) = dev["provider"]["aws"]
    assert "endpoints" not in dev_provider and "endpoints" not in dev["terraform"]["backend"]["s3"]
    for stack in (local, dev):
        assert stack["terraform"]["backend"]["s3"]["bucket"] == "acme-terraform-state"
