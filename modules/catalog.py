"""The functions of the product: one entry per Lambda function, and everything the
infrastructure needs to know about it. The data layer (dead-letter queues), the app layer
(packaging, roles, environment, triggers), observability (alarms) and the IAM proof in
tests/infra all loop over `FUNCTIONS`; none of them names a function. Adding a function
means its handler package plus one entry here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from modules.iam import Statement, allow
from modules.proxy_event import proxy_event

# Resources a handler can be granted actions on; the app layer maps each to its ARNs.
TABLE, IDEMPOTENCY_TABLE, STATE_MACHINE, EVENTS_TOPIC = "table", "idempotency_table", "state_machine", "events_topic"
# The workspace's CodeDeploy deployment groups, and the published versions of the functions
# deployed through them (what the pre-traffic hook reports on and invokes).
DEPLOYMENT_GROUPS, ROLLED_OUT_VERSIONS = "deployment_groups", "rolled_out_versions"

# What each data-access adapter of handlers/shared/aws calls. tests/infra/test_iam.py derives
# the calls from the handler code (a static scan of the adapters each entry point imports)
# and fails on a missing or unused grant.
ITEMS_ACTIONS = ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                 "dynamodb:Query")  # items_repository.py
JOB_TRANSITION_ACTIONS = ("dynamodb:UpdateItem",)  # job_transitions.py
JOB_LOOKUP_ACTIONS = ("dynamodb:GetItem", *JOB_TRANSITION_ACTIONS)  # job_lookup.py
JOBS_ACTIONS = ("dynamodb:PutItem", *JOB_LOOKUP_ACTIONS)  # jobs_repository.py
DIGEST_ACTIONS = ("dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")  # digest_store
IDEMPOTENCY_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
PUBLISH_ACTIONS = ("sns:Publish",)  # events_publisher.py
DEPLOYMENT_HOOK_ACTIONS = ("codedeploy:GetDeployment", "codedeploy:PutLifecycleEventHookExecutionStatus")  # deployments
INVOKE_ACTIONS = ("lambda:InvokeFunction",)  # function_versions.py

# Environment variables of the handler settings models, and the resource each names.
TABLE_NAME, IDEMPOTENCY_TABLE_NAME = "TABLE_NAME", "IDEMPOTENCY_TABLE_NAME"
STATE_MACHINE_ARN, ALLOWED_ORIGINS, EVENTS_TOPIC_ARN = "STATE_MACHINE_ARN", "ALLOWED_ORIGINS", "EVENTS_TOPIC_ARN"
DEPLOYMENT_APPLICATION_NAME, SMOKE_CHECKS = "DEPLOYMENT_APPLICATION_NAME", "SMOKE_CHECKS"
# Set on every function (Powertools' own settings).
COMMON_ENVIRONMENT = ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL")


@dataclass(frozen=True)
class ApiTrigger:
    """Invoked by the API (REST or HTTP kind) for every contract route."""


@dataclass(frozen=True)
class WorkflowTask:
    """A task of the job workflow (modules/workflow.py names the states that call it)."""


@dataclass(frozen=True)
class RuleTrigger:
    """Invoked asynchronously by an EventBridge rule. `rule` is the rule's name suffix;
    undeliverable events go to the dead-letter queue named `queue` (the data layer creates
    it and lets only this rule send to it)."""

    rule: str
    queue: str
    description: str


@dataclass(frozen=True)
class ScheduleTrigger(RuleTrigger):
    """An EventBridge schedule (`app.schedule_expression`)."""


# Execution statuses after which a job may still be PENDING/PROCESSING (EventBridge
# "Step Functions Execution Status Change" events: AWS Step Functions guide).
UNFINISHED_EXECUTION_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")


@dataclass(frozen=True)
class ExecutionEndTrigger(RuleTrigger):
    """An EventBridge rule on the job workflow's "Step Functions Execution Status Change"
    events with one of `statuses`: the function marks a job still unfinished FAILED."""

    statuses: tuple[str, ...] = UNFINISHED_EXECUTION_STATUSES


@dataclass(frozen=True)
class StreamTrigger:
    """Reads the items table's stream through an event source mapping. `id_prefix` keeps
    the Terraform logical ids of the mapping and its iterator-age alarm stable."""

    id_prefix: str


@dataclass(frozen=True)
class DeploymentHookTrigger:
    """Invoked by CodeDeploy as the BeforeAllowTraffic hook of every other function's
    deployment (modules/codedeploy.py). The hook itself is not deployed through CodeDeploy:
    Terraform moves its alias, so a broken hook is caught by its own tests, not by itself."""


Trigger = ApiTrigger | WorkflowTask | ScheduleTrigger | ExecutionEndTrigger | StreamTrigger | DeploymentHookTrigger


@dataclass(frozen=True)
class SmokeCheck:
    """How the pre-traffic hook checks a new version before it takes traffic: the event it
    invokes the version with, and the answer that passes. Either `status_code` (an API proxy
    answer with that status) or `error_type` (a function error of that type: an event the
    function must reject as invalid before it touches anything)."""

    event: Mapping[str, Any]
    status_code: int | None = None
    error_type: str | None = None

    def __post_init__(self) -> None:
        if (self.status_code is None) == (self.error_type is None):
            raise ValueError("a smoke check expects either a status_code or an error_type")

    def as_json(self) -> dict[str, Any]:
        """The form the hook reads (its SMOKE_CHECKS variable)."""
        expected = {"status_code": self.status_code} if self.status_code is not None else {
            "error_type": self.error_type}
        return {"event": dict(self.event), **expected}


# GET /health as API Gateway's proxy integration delivers it. The probe reads the table, writes nothing.
HEALTH_CHECK = SmokeCheck(event=proxy_event(
    "GET", "/health", stage="live", request_id="pre-traffic-hook", source_ip="127.0.0.1", context_path="/health",
    headers={"Accept": "application/json", "User-Agent": "pre-traffic-hook"}), status_code=200)
# A task input without a job: every workflow task refuses it while parsing (JobValidationError).
INVALID_TASK_INPUT = SmokeCheck(event={"smoke_check": "no job in this input"}, error_type="JobValidationError")


@dataclass(frozen=True)
class AsyncInvocation:
    """Asynchronous invocations: bounded retries, then the function's dead-letter queue."""

    maximum_retry_attempts: int = 2
    maximum_event_age_in_seconds: int = 3600


@dataclass(frozen=True)
class FunctionSpec:
    """A function: short name, handler package (under handlers/) and entry point, sizing
    class (`api` or `task`: `AppSettings.api_function`/`task_function`, overridable per
    function by `name`), trigger, the handler settings model's environment, and the IAM
    grants its code needs (resource -> actions). `also_triggered_by` lists further triggers
    (e.g. mark-failed: a workflow task and the execution-end rule)."""

    name: str
    package: str
    handler: str
    kind: Literal["api", "task"]
    trigger: Trigger
    environment: tuple[str, ...] = ()
    grants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    asynchronous: AsyncInvocation | None = None
    also_triggered_by: tuple[Trigger, ...] = ()
    # What the pre-traffic hook invokes a new version with (None only for the hook itself).
    smoke_check: SmokeCheck | None = None

    @property
    def triggers(self) -> tuple[Trigger, ...]:
        """Every trigger of the function, `trigger` first."""
        return (self.trigger, *self.also_triggered_by)

    @property
    def entry_module(self) -> str:
        """Path of the entry module below the repository root, e.g. handlers/api/app.py."""
        return self.handler.rsplit(".", 1)[0].replace(".", "/") + ".py"

    @property
    def construct_id(self) -> str:
        """`mark_failed` for `mark-failed`: ids of the function's constructs."""
        return self.name.replace("-", "_")

    def handler_statements(self, resource_arns: Mapping[str, list[str]]) -> list[Statement]:
        """Allow statements (Sid `Handler...`) for what the code calls, on the ARNs of
        each granted resource."""
        statements = []
        for resource, actions in sorted(self.grants.items()):
            sid = "Handler" + "".join(part.title() for part in resource.split("_"))
            statements.append(allow(list(actions), resource_arns[resource], sid=sid))
        return statements


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("api", "api", "handlers.api.app.lambda_handler", "api", ApiTrigger(),
                 (TABLE_NAME, IDEMPOTENCY_TABLE_NAME, STATE_MACHINE_ARN, ALLOWED_ORIGINS),
                 {TABLE: ITEMS_ACTIONS + JOBS_ACTIONS, IDEMPOTENCY_TABLE: IDEMPOTENCY_ACTIONS,
                  STATE_MACHINE: ("states:StartExecution",)}, smoke_check=HEALTH_CHECK),
    FunctionSpec("validate", "workflow", "handlers.workflow.validate.lambda_handler", "task", WorkflowTask(),
                 smoke_check=INVALID_TASK_INPUT),
    FunctionSpec("process", "workflow", "handlers.workflow.process.lambda_handler", "task", WorkflowTask(),
                 (TABLE_NAME,), {TABLE: JOB_TRANSITION_ACTIONS}, smoke_check=INVALID_TASK_INPUT),
    FunctionSpec("notify", "workflow", "handlers.workflow.notify.lambda_handler", "task", WorkflowTask(),
                 (TABLE_NAME, EVENTS_TOPIC_ARN), {TABLE: JOB_LOOKUP_ACTIONS, EVENTS_TOPIC: PUBLISH_ACTIONS},
                 smoke_check=INVALID_TASK_INPUT),
    FunctionSpec("mark-failed", "workflow", "handlers.workflow.mark_failed.lambda_handler", "task", WorkflowTask(),
                 (TABLE_NAME,), {TABLE: JOB_TRANSITION_ACTIONS}, asynchronous=AsyncInvocation(),
                 also_triggered_by=(ExecutionEndTrigger(
                     rule="job-execution-ended", queue="execution-ended",
                     description="Job workflow executions that ended FAILED, TIMED_OUT or ABORTED"),),
                 smoke_check=INVALID_TASK_INPUT),
    FunctionSpec("digest", "scheduled", "handlers.scheduled.digest.lambda_handler", "task",
                 ScheduleTrigger(rule="digest-schedule", queue="schedule",
                                 description="Daily digest of created items"),
                 (TABLE_NAME, EVENTS_TOPIC_ARN), {TABLE: DIGEST_ACTIONS, EVENTS_TOPIC: PUBLISH_ACTIONS},
                 asynchronous=AsyncInvocation(),
                 # A scheduled event whose time is not a time: refused before the digest runs.
                 smoke_check=SmokeCheck(event={"time": "not a time (pre-traffic smoke check)"},
                                        error_type="ValidationError")),
    FunctionSpec("stream-consumer", "stream", "handlers.stream.consumer.lambda_handler", "task",
                 StreamTrigger(id_prefix="stream"), (EVENTS_TOPIC_ARN,), {EVENTS_TOPIC: PUBLISH_ACTIONS},
                 # A batch without records: Powertools' batch processor refuses it before any record.
                 smoke_check=SmokeCheck(event={"Records": "none (pre-traffic smoke check)"},
                                        error_type="UnexpectedBatchTypeError")),
    FunctionSpec("pre-traffic", "deploy", "handlers.deploy.pre_traffic.lambda_handler", "task",
                 DeploymentHookTrigger(), (DEPLOYMENT_APPLICATION_NAME, SMOKE_CHECKS),
                 {DEPLOYMENT_GROUPS: DEPLOYMENT_HOOK_ACTIONS, ROLLED_OUT_VERSIONS: INVOKE_ACTIONS}),
)


TriggerT = TypeVar("TriggerT")


def function(name: str, functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> FunctionSpec:
    """The spec of one function by short name."""
    return next(spec for spec in functions if spec.name == name)


def triggered_by(trigger: type[Trigger] | type[RuleTrigger],
                 functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> list[FunctionSpec]:
    """The functions with one kind of trigger (among all their triggers), in catalog order."""
    return [spec for spec in functions if any(isinstance(each, trigger) for each in spec.triggers)]


def triggers_of(kind: type[TriggerT], spec: FunctionSpec) -> list[TriggerT]:
    """The triggers of one kind of one function."""
    return [each for each in spec.triggers if isinstance(each, kind)]


def rule_queues(functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> dict[str, str]:
    """Dead-letter queue short name -> the EventBridge rule (name suffix) that may send to it."""
    return {rule.queue: rule.rule for spec in functions for rule in triggers_of(RuleTrigger, spec)}


def dlq_names(functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> list[str]:
    """Short names of every dead-letter queue the data layer creates: one per function,
    then one per EventBridge rule (its target's)."""
    return [spec.name for spec in functions] + list(rule_queues(functions))


def rolled_out(functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> list[FunctionSpec]:
    """The functions whose new versions reach traffic through CodeDeploy: all but the hook."""
    return [spec for spec in functions if not isinstance(spec.trigger, DeploymentHookTrigger)]
