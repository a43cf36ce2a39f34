"""The functions of the product: one entry per Lambda function, and everything the
infrastructure needs to know about it. The data layer (dead-letter queues), the app layer
(packaging, roles, environment, triggers), observability (alarms) and the IAM proof in
tests/infra all loop over `FUNCTIONS`; none of them names a function. Adding a function
means its handler package plus one entry here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from modules.iam import Statement, allow

# Resources a handler can be granted actions on; the app layer maps each to its ARNs.
TABLE, IDEMPOTENCY_TABLE, STATE_MACHINE, EVENTS_TOPIC = "table", "idempotency_table", "state_machine", "events_topic"

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

# Environment variables of the handler settings models, and the resource each names.
TABLE_NAME, IDEMPOTENCY_TABLE_NAME = "TABLE_NAME", "IDEMPOTENCY_TABLE_NAME"
STATE_MACHINE_ARN, ALLOWED_ORIGINS, EVENTS_TOPIC_ARN = "STATE_MACHINE_ARN", "ALLOWED_ORIGINS", "EVENTS_TOPIC_ARN"
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


Trigger = ApiTrigger | WorkflowTask | ScheduleTrigger | ExecutionEndTrigger | StreamTrigger


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
                  STATE_MACHINE: ("states:StartExecution",)}),
    FunctionSpec("validate", "workflow", "handlers.workflow.validate.lambda_handler", "task", WorkflowTask()),
    FunctionSpec("process", "workflow", "handlers.workflow.process.lambda_handler", "task", WorkflowTask(),
                 (TABLE_NAME,), {TABLE: JOB_TRANSITION_ACTIONS}),
    FunctionSpec("notify", "workflow", "handlers.workflow.notify.lambda_handler", "task", WorkflowTask(),
                 (TABLE_NAME, EVENTS_TOPIC_ARN), {TABLE: JOB_LOOKUP_ACTIONS, EVENTS_TOPIC: PUBLISH_ACTIONS}),
    FunctionSpec("mark-failed", "workflow", "handlers.workflow.mark_failed.lambda_handler", "task", WorkflowTask(),
                 (TABLE_NAME,), {TABLE: JOB_TRANSITION_ACTIONS}, asynchronous=AsyncInvocation(),
                 also_triggered_by=(ExecutionEndTrigger(
                     rule="job-execution-ended", queue="execution-ended",
                     description="Job workflow executions that ended FAILED, TIMED_OUT or ABORTED"),)),
    FunctionSpec("digest", "scheduled", "handlers.scheduled.digest.lambda_handler", "task",
                 ScheduleTrigger(rule="digest-schedule", queue="schedule",
                                 description="Daily digest of created items"),
                 (TABLE_NAME, EVENTS_TOPIC_ARN), {TABLE: DIGEST_ACTIONS, EVENTS_TOPIC: PUBLISH_ACTIONS},
                 asynchronous=AsyncInvocation()),
    FunctionSpec("stream-consumer", "stream", "handlers.stream.consumer.lambda_handler", "task",
                 StreamTrigger(id_prefix="stream"), (EVENTS_TOPIC_ARN,), {EVENTS_TOPIC: PUBLISH_ACTIONS}),
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
