"""Every workspace gets its layer stacks, each with its own remote state and provider."""

from __future__ import annotations

import pytest

from modules.config import WORKSPACES, load_settings
from tests.infra.conftest import SESSION_ENVIRONMENT

LAYERS = ("security", "network", "data", "app", "observability")


def expected_stacks() -> list[str]:
    names = ["bootstrap"]
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
        assert s3["use_lockfile"] is True


def test_bootstrap_has_local_backend(synth):
    assert list(synth.stack("bootstrap")["terraform"]["backend"]) == ["local"]


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
        assert tags["Layer"] == (layer or "bootstrap")
        if name != "bootstrap":
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
