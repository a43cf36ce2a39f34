"""The job workflow: a STANDARD state machine calling the four task aliases.

ValidateInput -> CheckValidation (Choice) -> ProcessData -> SendNotification -> Succeed,
with Retry on Lambda service errors and the handlers' TransientError, and Catch
(States.ALL, error kept at $.error) -> MarkFailed -> Fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.sfn_state_machine import (
    SfnStateMachine,
    SfnStateMachineLoggingConfiguration,
    SfnStateMachineTracingConfiguration,
)
from constructs import Construct

from modules.config import WorkspaceSettings
from modules.iam import allow, assume_role_policy, policy_document

LAMBDA_SERVICE_ERRORS = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                         "Lambda.TooManyRequestsException"]
TRANSIENT_ERROR = "TransientError"  # raised by the task handlers for throttling/5xx/timeouts
# Task errors that retrying cannot fix (listed first with MaxAttempts 0, so the broad
# "task failures" retry of ProcessData does not repeat them).
PERMANENT_ERRORS = ["JobValidationError", "JobStateConflict", "JobNotFound"]
NO_RETRY = {"ErrorEquals": PERMANENT_ERRORS, "MaxAttempts": 0}
STATE_MACHINE_SUFFIX = "jobs"

# Log delivery for Step Functions uses account-level CloudWatch Logs APIs that take no
# resource ARN (AWS documents Resource "*" for them).
LOG_DELIVERY_ACTIONS = ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                        "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                        "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"]
TRACING_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                   "xray:GetSamplingTargets"]


def state_machine_name(settings: WorkspaceSettings) -> str:
    return settings.name(STATE_MACHINE_SUFFIX)


def state_machine_arn(settings: WorkspaceSettings, account_id: str, partition: str = "aws") -> str:
    """The ARN by its static pattern, so the API function can know it without a cycle."""
    return f"arn:{partition}:states:{settings.region}:{account_id}:stateMachine:{state_machine_name(settings)}"


def _retry(errors: list[str], interval: int, attempts: int, backoff: float) -> dict[str, Any]:
    return {"ErrorEquals": errors, "IntervalSeconds": interval, "MaxAttempts": attempts, "BackoffRate": backoff,
            "JitterStrategy": "FULL"}


CATCH_ALL = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MarkFailed"}]


def definition(task_arns: dict[str, str]) -> dict[str, Any]:
    """The Amazon States Language document; `task_arns` maps validate/process/notify/mark-failed
    to the alias ARNs the Task states call."""
    return {
        "Comment": "Job workflow: validate, process, notify; any failure marks the job FAILED",
        "StartAt": "ValidateInput",
        "States": {
            "ValidateInput": {
                "Type": "Task", "Resource": task_arns["validate"],
                "Retry": [_retry(LAMBDA_SERVICE_ERRORS, 2, 3, 2.0)],
                "Catch": CATCH_ALL, "Next": "CheckValidation",
            },
            "CheckValidation": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.operation", "IsPresent": True, "Next": "ProcessData"}],
                "Default": "ValidationIncomplete",
            },
            "ValidationIncomplete": {
                "Type": "Pass",
                "Result": {"Error": "JobValidationError", "Cause": "validation returned no operation"},
                "ResultPath": "$.error", "Next": "MarkFailed",
            },
            "ProcessData": {
                "Type": "Task", "Resource": task_arns["process"],
                "Retry": [NO_RETRY, _retry([*LAMBDA_SERVICE_ERRORS, TRANSIENT_ERROR, "States.TaskFailed"], 2, 3, 2.0)],
                "Catch": CATCH_ALL, "Next": "SendNotification",
            },
            "SendNotification": {
                "Type": "Task", "Resource": task_arns["notify"],
                "Retry": [_retry([*LAMBDA_SERVICE_ERRORS, TRANSIENT_ERROR], 5, 2, 2.0)],
                "Catch": CATCH_ALL, "Next": "Succeeded",
            },
            "Succeeded": {"Type": "Succeed"},
            "MarkFailed": {
                "Type": "Task", "Resource": task_arns["mark-failed"],
                "Retry": [_retry([*LAMBDA_SERVICE_ERRORS, TRANSIENT_ERROR], 2, 3, 2.0)],
                "Next": "Failed",
            },
            "Failed": {"Type": "Fail", "Error": "JobFailed", "Cause": "the job was marked FAILED"},
        },
    }


@dataclass(frozen=True)
class WorkflowInputs:
    settings: WorkspaceSettings
    kms_key_arn: str
    task_alias_arns: dict[str, str]


class Workflow(Construct):
    """State machine, its CMK log group (level ALL with execution data) and its role."""

    def __init__(self, scope: Construct, id_: str, inputs: WorkflowInputs) -> None:
        super().__init__(scope, id_)
        settings = inputs.settings
        name = state_machine_name(settings)
        self.log_group = CloudwatchLogGroup(self, "log_group", name=f"/aws/vendedlogs/states/{name}",
                                            retention_in_days=settings.log_retention_days,
                                            kms_key_id=inputs.kms_key_arn)
        self.role = IamRole(self, "role", name=f"{name}-role",
                            assume_role_policy=assume_role_policy("states.amazonaws.com"))
        policy = IamRolePolicy(self, "policy", role=self.role.id, name="least-privilege", policy=policy_document(
            allow(["lambda:InvokeFunction"], sorted(inputs.task_alias_arns.values()), sid="InvokeTaskAliases"),
            allow(LOG_DELIVERY_ACTIONS, "*", sid="LogDelivery"),
            allow(TRACING_ACTIONS, "*", sid="Tracing"),
            # No KMS grant: vended log delivery is written by CloudWatch Logs itself, which
            # encrypts the CMK log group under the key policy (logs service principal), not
            # with this role (AWS Step Functions guide, "Logging using CloudWatch Logs").
        ))
        self.state_machine = SfnStateMachine(
            self, "state_machine", name=name, type="STANDARD", role_arn=self.role.arn,
            definition=json.dumps(definition(inputs.task_alias_arns), sort_keys=True),
            logging_configuration=SfnStateMachineLoggingConfiguration(
                log_destination=f"{self.log_group.arn}:*", include_execution_data=True, level="ALL"),
            tracing_configuration=SfnStateMachineTracingConfiguration(enabled=settings.xray_tracing),
            depends_on=[policy],
        )
