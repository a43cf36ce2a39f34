"""The job workflow: a STANDARD state machine calling the four task aliases.

ValidateInput -> CheckValidation (Choice) -> ProcessData -> SendNotification -> Succeed,
with Retry on Lambda service errors and the handlers' TransientError, and Catch
(States.ALL, error kept at $.error) -> MarkFailed -> Fail.

Every job ends COMPLETED or FAILED, whatever fails:
* MarkFailed (a Lambda task, reserved concurrency like the others, so it can be throttled)
  has a Catch to RecordFailure, a Task of Step Functions' direct DynamoDB integration
  (`arn:aws:states:::dynamodb:updateItem`, no Lambda involved) that sets the job FAILED only
  while it is PENDING or PROCESSING (AWS Step Functions guide, "Call DynamoDB APIs with Step
  Functions"); its own failure ends the execution FAILED.
* every Task state has TimeoutSeconds, and the state machine's TimeoutSeconds is derived
  from them and their Retry policies (`worst_case_seconds`), so no execution runs forever.
* an execution that ends FAILED, TIMED_OUT or ABORTED emits a "Step Functions Execution
  Status Change" event (standard workflows, best-effort delivery: AWS Step Functions guide,
  "EventBridge for Step Functions execution status changes"); an EventBridge rule sends it
  to mark-failed (catalog `ExecutionEndTrigger`), which sets a still-unfinished job FAILED.
  The ExecutionsTimedOut/ExecutionsFailed alarms report the rest.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.sfn_state_machine import (
    SfnStateMachine,
    SfnStateMachineLoggingConfiguration,
    SfnStateMachineTracingConfiguration,
)
from constructs import Construct

from handlers.shared.aws.table_keys import JOB_PK_PREFIX, JOB_SK
from handlers.shared.models import FAILED, PENDING, PROCESSING
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

# Margin of a Lambda Task's TimeoutSeconds over the function's own timeout: Lambda ends a
# slow invocation first (a task error the Retry/Catch see), the state's timeout is the backstop.
TASK_TIMEOUT_MARGIN_SECONDS = 5
# The direct DynamoDB UpdateItem of RecordFailure: one request, no cold start.
RECORD_FAILURE_TIMEOUT_SECONDS = 10
# Scheduling between states is not part of any task's time; a minute covers it many times over.
STATE_MACHINE_MARGIN_SECONDS = 60
# Defaults of a Retrier (Amazon States Language specification, "Retrying after an error").
RETRY_DEFAULTS = {"IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0}
# What the workflow records when MarkFailed cannot: the code clients see, never a stack trace.
RECORD_FAILURE_CODE = "WorkflowFailed"
RECORD_FAILURE_MESSAGE = "The job could not be processed"


def direct_update_resource(partition: str) -> str:
    """The optimized DynamoDB UpdateItem integration, in the partition the machine runs in
    (AWS Step Functions: service integration ARNs are `arn:<partition>:states:::<service>:<api>`)."""
    return f"arn:{partition}:states:::dynamodb:updateItem"


def _record_failure(table_name: str, partition: str) -> dict[str, Any]:
    """PENDING/PROCESSING -> FAILED by Step Functions itself (no Lambda): the last resort when
    MarkFailed fails. `updated_at` is left as it was: Step Functions' context timestamps have
    millisecond precision, not the table's fixed-width format."""
    return {
        "Type": "Task", "Resource": direct_update_resource(partition),
        "TimeoutSeconds": RECORD_FAILURE_TIMEOUT_SECONDS,
        "Parameters": {
            "TableName": table_name,
            "Key": {"pk": {"S.$": f"States.Format('{JOB_PK_PREFIX}{{}}', $.job_id)"}, "sk": {"S": JOB_SK}},
            "UpdateExpression": "SET #status = :failed, #error = :error",
            "ConditionExpression": "attribute_exists(pk) AND #status IN (:pending, :processing)",
            "ExpressionAttributeNames": {"#status": "status", "#error": "error"},
            "ExpressionAttributeValues": {
                ":failed": {"S": FAILED}, ":pending": {"S": PENDING}, ":processing": {"S": PROCESSING},
                ":error": {"M": {"code": {"S": RECORD_FAILURE_CODE}, "message": {"S": RECORD_FAILURE_MESSAGE}}},
            },
        },
        "ResultPath": None,
        # A job that is already COMPLETED/FAILED (or gone) fails the condition: nothing to retry.
        "Retry": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "MaxAttempts": 0},
                  _retry(["States.ALL"], 2, 5, 2.0)],
        # Whatever is left ends the execution FAILED, which the execution-status rule and the
        # ExecutionsFailed alarm see.
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.record_failure_error", "Next": "Failed"}],
        "Next": "Failed",
    }


def definition(task_arns: Mapping[str, str], task_timeouts: Mapping[str, int], table_name: str, *,
               partition: str) -> dict[str, Any]:
    """The Amazon States Language document; `task_arns` maps validate/process/notify/mark-failed
    to the alias ARNs the Task states call, `task_timeouts` to their functions' timeouts (s)."""
    def timeout(task: str) -> int:
        return task_timeouts[task] + TASK_TIMEOUT_MARGIN_SECONDS

    states: dict[str, Any] = {
        "ValidateInput": {
            "Type": "Task", "Resource": task_arns["validate"], "TimeoutSeconds": timeout("validate"),
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
            "Type": "Task", "Resource": task_arns["process"], "TimeoutSeconds": timeout("process"),
            "Retry": [NO_RETRY, _retry([*LAMBDA_SERVICE_ERRORS, TRANSIENT_ERROR, "States.TaskFailed"], 2, 3, 2.0)],
            "Catch": CATCH_ALL, "Next": "SendNotification",
        },
        "SendNotification": {
            "Type": "Task", "Resource": task_arns["notify"], "TimeoutSeconds": timeout("notify"),
            "Retry": [_retry([*LAMBDA_SERVICE_ERRORS, TRANSIENT_ERROR], 5, 2, 2.0)],
            "Catch": CATCH_ALL, "Next": "Succeeded",
        },
        "Succeeded": {"Type": "Succeed"},
        "MarkFailed": {
            "Type": "Task", "Resource": task_arns["mark-failed"], "TimeoutSeconds": timeout("mark-failed"),
            "Retry": [_retry([*LAMBDA_SERVICE_ERRORS, TRANSIENT_ERROR], 2, 3, 2.0)],
            # Throttled (reserved concurrency) or failing after its retries: Step Functions
            # records the failure itself.
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.mark_failed_error",
                       "Next": "RecordFailure"}],
            "Next": "Failed",
        },
        "RecordFailure": _record_failure(table_name, partition),
        "Failed": {"Type": "Fail", "Error": "JobFailed", "Cause": "the job was marked FAILED"},
    }
    document: dict[str, Any] = {
        "Comment": "Job workflow: validate, process, notify; any failure marks the job FAILED",
        "StartAt": "ValidateInput",
        "States": states,
    }
    document["TimeoutSeconds"] = worst_case_seconds(document) + STATE_MACHINE_MARGIN_SECONDS
    return document


def _retrier_wait(retrier: Mapping[str, Any]) -> float:
    """The longest a Retrier waits in total: its intervals before jitter (JitterStrategy
    FULL only shortens them), each capped by MaxDelaySeconds when set."""
    options = {**RETRY_DEFAULTS, **retrier}
    cap = options.get("MaxDelaySeconds", math.inf)
    return sum(min(options["IntervalSeconds"] * options["BackoffRate"] ** attempt, cap)
               for attempt in range(int(options["MaxAttempts"])))


def task_worst_case_seconds(state: Mapping[str, Any]) -> float:
    """How long one Task state can take: every attempt its retriers allow (each Retrier
    counts its own attempts, so their sum bounds them together) running to TimeoutSeconds,
    plus every retry interval."""
    retriers = state.get("Retry", [])
    attempts = 1 + sum(int({**RETRY_DEFAULTS, **retrier}["MaxAttempts"]) for retrier in retriers)
    return attempts * int(state["TimeoutSeconds"]) + sum(_retrier_wait(retrier) for retrier in retriers)


def next_states(state: Mapping[str, Any]) -> Iterator[str]:
    """The states one state can hand over to (Next, Default, Choices, Catch)."""
    if "Next" in state:
        yield state["Next"]
    if "Default" in state:
        yield state["Default"]
    for choice in state.get("Choices", []):
        yield choice["Next"]
    for catcher in state.get("Catch", []):
        yield catcher["Next"]


def worst_case_seconds(document: Mapping[str, Any]) -> int:
    """The longest path through the (acyclic) workflow, in seconds of Task time."""
    states = document["States"]
    memo: dict[str, float] = {}

    def longest(name: str) -> float:
        if name not in memo:
            state = states[name]
            own = task_worst_case_seconds(state) if state["Type"] == "Task" else 0.0
            memo[name] = own + max((longest(after) for after in next_states(state)), default=0.0)
        return memo[name]

    return math.ceil(longest(document["StartAt"]))


@dataclass(frozen=True)
class WorkflowInputs:
    settings: WorkspaceSettings
    kms_key_arn: str
    task_alias_arns: dict[str, str]
    task_timeouts: dict[str, int]  # task -> its function's timeout (s)
    table_name: str
    table_arn: str


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
            # RecordFailure: the direct DynamoDB integration calls UpdateItem with this role.
            allow(["dynamodb:UpdateItem"], [inputs.table_arn], sid="RecordFailure"),
            allow(LOG_DELIVERY_ACTIONS, "*", sid="LogDelivery"),
            allow(TRACING_ACTIONS, "*", sid="Tracing"),
            # No KMS grant: vended log delivery is written by CloudWatch Logs itself, which
            # encrypts the CMK log group under the key policy (logs service principal), not
            # with this role (AWS Step Functions guide, "Logging using CloudWatch Logs").
        ))
        self.state_machine = SfnStateMachine(
            self, "state_machine", name=name, type="STANDARD", role_arn=self.role.arn,
            definition=json.dumps(definition(inputs.task_alias_arns, inputs.task_timeouts, inputs.table_name,
                                             partition=DataAwsPartition(self, "partition").partition),
                                  sort_keys=True),
            logging_configuration=SfnStateMachineLoggingConfiguration(
                log_destination=f"{self.log_group.arn}:*", level="ALL",
                # Execution data is each state's input and output: the clients' job payloads.
                # Staging and prod log the transitions and errors without it, so their logs
                # hold no client data (AWS Step Functions "Logging using CloudWatch Logs":
                # includeExecutionData logs input, output and parameters).
                include_execution_data=not settings.is_production_like),
            tracing_configuration=SfnStateMachineTracingConfiguration(enabled=settings.xray_tracing),
            depends_on=[policy],
        )
