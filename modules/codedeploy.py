"""Safe rollouts: every function version reaches traffic through CodeDeploy.

One CodeDeploy application (compute platform Lambda) per workspace and one deployment group
per function (`modules.catalog.rolled_out`), with the workspace's deployment preference for the
function's class (`settings.rollout`), automatic rollback on a failed deployment and on alarm,
the alarms being that function's errors and p99 duration alarms (and the API's 5XX alarm for
the API function: `modules.rollout.rollback_alarm_names`), and the pre-traffic hook that
CodeDeploy runs before any traffic moves. Terraform creates each function's `live` alias on
the first version and then leaves it to CodeDeploy (modules/function.py ignores the alias's
version and routing), so a plan after a rollout shows no changes; `make rollout`
(delivery/rollout.py) starts the deployments after the app layer is applied.

The alarms live in the observability layer, which is applied after this one: CodeDeploy
reads their state only while a deployment runs (`make rollout`, after every layer), and
tests/infra/contract/deploy_rules.py checks that every alarm a group names exists there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.codedeploy_app import CodedeployApp
from cdktf_cdktf_provider_aws.codedeploy_deployment_group import (
    CodedeployDeploymentGroup,
    CodedeployDeploymentGroupAlarmConfiguration,
    CodedeployDeploymentGroupAutoRollbackConfiguration,
    CodedeployDeploymentGroupDeploymentStyle,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from handlers.shared.constants import LIVE_ALIAS
from modules.catalog import FunctionSpec, rolled_out
from modules.config import WorkspaceSettings
from modules.function import Function
from modules.iam import allow, assume_role_policy, policy_document
from modules.rollout import application_name, deployment_group_name, rollback_alarm_names

# What ends a deployment and moves the alias back to the version it started from.
ROLLBACK_EVENTS = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]


@dataclass(frozen=True)
class RolloutInputs:
    settings: WorkspaceSettings
    functions: Mapping[str, Function]  # catalog name -> the function's constructs
    specs: tuple[FunctionSpec, ...]
    hook: Function
    account_id: str
    partition: str


class Rollouts(Construct):
    """The CodeDeploy application, its service role and one deployment group per function."""

    def __init__(self, scope: Construct, id_: str, inputs: RolloutInputs) -> None:
        super().__init__(scope, id_)
        self._inputs = inputs
        settings = inputs.settings
        self.application = CodedeployApp(self, "application", name=application_name(settings),
                                         compute_platform="Lambda")
        self.role = IamRole(self, "service_role", name=settings.name("codedeploy"),
                            assume_role_policy=assume_role_policy("codedeploy.amazonaws.com",
                                                                  source_account=inputs.account_id))
        self.policy = IamRolePolicy(self, "service_policy", role=self.role.id, name="least-privilege",
                                    policy=self._service_policy())
        self.groups = {spec.name: self._group(spec) for spec in rolled_out(inputs.specs)}

    def _alarm_arn(self, name: str) -> str:
        settings = self._inputs.settings
        return f"arn:{self._inputs.partition}:cloudwatch:{settings.region}:{self._inputs.account_id}:alarm:{name}"

    def _service_policy(self) -> str:
        """What CodeDeploy does for a Lambda deployment (the actions of AWS's managed policy
        AWSCodeDeployRoleForLambdaLimited), on this workspace's functions, alarms and hook only."""
        inputs = self._inputs
        specs = rolled_out(inputs.specs)
        functions = [inputs.functions[spec.name].function.arn for spec in specs]
        aliases = [f"{arn}:{LIVE_ALIAS}" for arn in functions]
        alarms = sorted({self._alarm_arn(name) for spec in specs
                         for name in rollback_alarm_names(inputs.settings, spec)})
        return policy_document(
            # Shift traffic: read the alias and its provisioned concurrency, move its weights.
            allow(["lambda:GetAlias", "lambda:UpdateAlias", "lambda:GetProvisionedConcurrencyConfig"],
                  functions + aliases, sid="ShiftAliases"),
            # Poll the rollback alarms while a deployment runs.
            allow(["cloudwatch:DescribeAlarms"], alarms, sid="ReadRollbackAlarms"),
            # Run the BeforeAllowTraffic hook the AppSpec names (unqualified: its $LATEST).
            allow(["lambda:InvokeFunction"], [inputs.hook.function.arn], sid="RunPreTrafficHook"),
        )

    def _group(self, spec: FunctionSpec) -> CodedeployDeploymentGroup:
        settings = self._inputs.settings
        return CodedeployDeploymentGroup(
            self, f"{spec.construct_id}_deployment_group",
            app_name=self.application.name,
            deployment_group_name=deployment_group_name(settings, spec),
            service_role_arn=self.role.arn,
            deployment_config_name=settings.rollout.preference(spec.kind).config_name,
            # Lambda deployments are blue/green with traffic control: the alias's weights move.
            deployment_style=CodedeployDeploymentGroupDeploymentStyle(
                deployment_type="BLUE_GREEN", deployment_option="WITH_TRAFFIC_CONTROL"),
            auto_rollback_configuration=CodedeployDeploymentGroupAutoRollbackConfiguration(
                enabled=True, events=ROLLBACK_EVENTS),
            # An alarm CodeDeploy cannot read stops the deployment (ignore_poll_alarm_failure
            # false): a rollout is never judged healthy on alarms nobody could see.
            alarm_configuration=CodedeployDeploymentGroupAlarmConfiguration(
                enabled=True, alarms=rollback_alarm_names(settings, spec), ignore_poll_alarm_failure=False),
            depends_on=[self.policy],
        )
