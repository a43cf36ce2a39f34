"""The CodeDeploy resources of every workspace, as the workspace's settings ask for them: one
Lambda application, one group per rolled-out function with the preference of its class, the
hook outside CodeDeploy, and the hook's environment naming exactly the functions it checks."""

from __future__ import annotations

import json

import pytest

from modules.catalog import rolled_out
from modules.config import WORKSPACES
from tests.infra.conftest import SETTINGS


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_one_lambda_application_and_a_group_per_function_with_its_class_preference(synth, workspace):
    settings = SETTINGS[workspace]
    [application] = synth.resources(f"{workspace}-app", "aws_codedeploy_app").values()
    assert (application["name"], application["compute_platform"]) == (settings.name("functions"), "Lambda")
    groups = {g["deployment_group_name"]: g
              for g in synth.resources(f"{workspace}-app", "aws_codedeploy_deployment_group").values()}
    assert set(groups) == {settings.name(spec.name) for spec in rolled_out()}
    for spec in rolled_out():
        group = groups[settings.name(spec.name)]
        assert group["deployment_config_name"] == settings.rollout.preference(spec.kind).config_name
        assert group["alarm_configuration"]["ignore_poll_alarm_failure"] is False


def test_staging_and_prod_shift_gradually_and_dev_at_once(synth):
    def configs(workspace):
        return {g["deployment_config_name"]
                for g in synth.resources(f"{workspace}-app", "aws_codedeploy_deployment_group").values()}

    assert configs("dev") == configs("local") == {"CodeDeployDefault.LambdaAllAtOnce"}
    assert configs("prod") == configs("staging") == {"CodeDeployDefault.LambdaCanary10Percent15Minutes",
                                                     "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes"}


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_the_hook_is_moved_by_terraform_and_checks_every_rolled_out_function(synth, workspace):
    settings = SETTINGS[workspace]
    hook = synth.resource(f"{workspace}-app", "aws_lambda_function", "pre_traffic/function")
    alias = synth.resource(f"{workspace}-app", "aws_lambda_alias", "pre_traffic/alias")
    assert "lifecycle" not in alias  # no deployment group moves the hook's own alias
    variables = hook["environment"]["variables"]
    assert variables["DEPLOYMENT_APPLICATION_NAME"] == settings.name("functions")
    checks = json.loads(variables["SMOKE_CHECKS"])
    assert set(checks) == {settings.name(spec.name) for spec in rolled_out()}
    assert checks[settings.name("api")]["status_code"] == 200
    assert checks[settings.name("api")]["event"]["path"] == "/health"
