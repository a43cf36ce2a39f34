"""The deploy role allows every AWS call `make rollout` makes after the apply.

The CI roles' table (modules/ci_permissions.py) lists what the rollout needs; this reads the
calls from the rollout's own source, so a new call without its permission fails here instead of
as AccessDenied in the first deploy after it.
"""

from __future__ import annotations

import re
from pathlib import Path

from modules.ci_permissions import ROLLOUT_NEEDS, TYPE_NEEDS

ROOT = Path(__file__).resolve().parents[2]
ROLLOUT_SOURCE = ROOT / "delivery" / "rollout.py"
# client variable in the rollout -> IAM service prefix
CLIENTS = {"lambda_client": "lambda", "codedeploy": "codedeploy"}
_CALL = re.compile(r"\b(lambda_client|codedeploy)\.(?:get_paginator\(\"(\w+)\"\)|(\w+)\()")


def iam_action(client: str, operation: str) -> str:
    return f"{CLIENTS[client]}:{''.join(part.title() for part in operation.split('_'))}"


def rollout_actions(source: str) -> set[str]:
    return {iam_action(client, paginated or called) for client, paginated, called in _CALL.findall(source)}


def deploy_role_actions() -> set[str]:
    lambda_needs = TYPE_NEEDS["aws_lambda_function"]
    needs = [*ROLLOUT_NEEDS, *lambda_needs.refresh, *lambda_needs.apply]
    return {action for actions, _scope in needs for action in actions}


def test_the_deploy_role_allows_every_call_of_the_rollout():
    called = rollout_actions(ROLLOUT_SOURCE.read_text())
    assert {"codedeploy:CreateDeployment", "lambda:GetAlias", "lambda:ListVersionsByFunction"} <= called
    assert sorted(called - deploy_role_actions()) == []


def test_a_call_without_its_permission_is_named():
    source = 'codedeploy.stop_deployment(deploymentId=x)\nlambda_client.get_alias(FunctionName=n, Name="live")\n'
    assert sorted(rollout_actions(source) - deploy_role_actions()) == ["codedeploy:StopDeployment"]
