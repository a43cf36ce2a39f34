"""The Terraform AWS provider manages CodeDeploy in the emulator as on AWS: ``aws_codedeploy_app`` and a
Lambda ``aws_codedeploy_deployment_group`` (alarms, auto rollback, blue/green with traffic control, tags)
apply, plan no changes afterwards and update in place. Their destroy is the e2e's (test_3_destroy:
the deployed application and its groups go with `local-app`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from delivery.terraform import Terraform
from localmode.emulator import Emulator
from tests.localmode.conftest import PREFIX, REGION, Deployment

pytestmark = pytest.mark.terraform
APPLICATION = f"{PREFIX}-terraform-rollouts"

MAIN_TF = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}

provider "aws" {
  region                      = "%(region)s"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  # An operation the emulator lacks fails within seconds instead of retrying for minutes (the
  # default is 25 attempts). 1 was too few: under a full test load a read once failed with "use
  # of closed network connection", an error the SDK retries ("exceeded maximum number of
  # attempts, 1"), so the apply failed on its first attempt.
  max_retries = 3
  endpoints {
    codedeploy = "%(endpoint)s"
    iam        = "%(endpoint)s"
    sts        = "%(endpoint)s"
  }
  default_tags {
    tags = { ManagedBy = "terraform" }
  }
}

variable "alarms" {
  type = list(string)
}

variable "config" {
  type = string
}

resource "aws_codedeploy_app" "rollouts" {
  name             = "%(application)s"
  compute_platform = "Lambda"
  tags             = { Layer = "app" }
}

resource "aws_codedeploy_deployment_group" "api" {
  app_name               = aws_codedeploy_app.rollouts.name
  deployment_group_name  = "api"
  service_role_arn       = "%(role)s"
  deployment_config_name = var.config

  deployment_style {
    deployment_type   = "BLUE_GREEN"
    deployment_option = "WITH_TRAFFIC_CONTROL"
  }

  auto_rollback_configuration {
    enabled = true
    events  = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
  }

  alarm_configuration {
    enabled = true
    alarms  = var.alarms
  }

  tags = { Function = "api" }
}
"""


@pytest.fixture
def stack(tmp_path: Path, emulator: Emulator, deployment: Deployment) -> Iterator[tuple[Terraform, Path]]:
    """A stack of one Lambda application and group, initialised against the package's emulator."""
    (tmp_path / "main.tf").write_text(MAIN_TF % {"region": REGION, "endpoint": emulator.endpoint,
                                                 "application": APPLICATION, "role": deployment.role_arn})
    terraform = Terraform()
    terraform.init(tmp_path)
    yield terraform, tmp_path
    terraform.close()
    # What the test applied leaves the package's emulator (the other tests share it), by the API.
    codedeploy = deployment.client("codedeploy")
    if APPLICATION in codedeploy.list_applications()["applications"]:
        for group in codedeploy.list_deployment_groups(applicationName=APPLICATION)["deploymentGroups"]:
            codedeploy.delete_deployment_group(applicationName=APPLICATION, deploymentGroupName=group)
        codedeploy.delete_application(applicationName=APPLICATION)


def variables(alarms: list[str], config: str = "CodeDeployDefault.LambdaAllAtOnce") -> list[str]:
    return ["-var", f"alarms={json.dumps(alarms)}", "-var", f"config={config}"]


def apply(stack: tuple[Terraform, Path], *args: str) -> None:
    terraform, directory = stack
    terraform.run(directory, "apply", "-auto-approve", "-input=false", "-no-color", *args)


def plan_changes(stack: tuple[Terraform, Path], *args: str) -> str:
    """Terraform's plan output when it wants changes; "" when it plans none (exit code 0)."""
    terraform, directory = stack
    result = terraform.run(directory, "plan", "-detailed-exitcode", "-input=false", "-no-color", *args, check=False)
    assert result.returncode in (0, 2), result.stderr
    return result.stdout if result.returncode == 2 else ""


def group_info(deployment: Deployment) -> dict[str, Any]:
    return dict(deployment.client("codedeploy").get_deployment_group(
        applicationName=APPLICATION, deploymentGroupName="api")["deploymentGroupInfo"])


def test_apply_plans_no_changes_and_updates_in_place(stack: tuple[Terraform, Path], deployment: Deployment) -> None:
    apply(stack, *variables(["api-errors", "api-latency"]))
    changes = plan_changes(stack, *variables(["api-errors", "api-latency"]))
    assert changes == "", changes
    assert {alarm["name"] for alarm in group_info(deployment)["alarmConfiguration"]["alarms"]} \
        == {"api-errors", "api-latency"}

    canary = "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    apply(stack, *variables(["api-errors"], canary))
    changes = plan_changes(stack, *variables(["api-errors"], canary))
    assert changes == "", changes
    info = group_info(deployment)
    assert info["alarmConfiguration"] == {"enabled": True, "ignorePollAlarmFailure": False,
                                          "alarms": [{"name": "api-errors"}]}
    assert info["deploymentConfigName"] == canary
