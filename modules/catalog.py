"""The functions of the product: one entry per Lambda function, read by the data layer
(one dead-letter queue each) and the app layer (packaging, roles, triggers)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FunctionSpec:
    """A function: its short name, handler package (under handlers/) and entry point."""

    name: str
    package: str
    handler: str
    kind: str  # "api" | "task": sizing class in AppSettings, overridable per function by `name`
    environment: tuple[str, ...] = ()  # names of the handler settings model's variables

    @property
    def entry_module(self) -> str:
        """Path of the entry module below the repository root, e.g. handlers/api/app.py."""
        return self.handler.rsplit(".", 1)[0].replace(".", "/") + ".py"


TABLE = "TABLE_NAME"
TOPIC = "EVENTS_TOPIC_ARN"

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("api", "api", "handlers.api.app.lambda_handler", "api",
                 (TABLE, "IDEMPOTENCY_TABLE_NAME", "STATE_MACHINE_ARN", "ALLOWED_ORIGINS")),
    FunctionSpec("validate", "workflow", "handlers.workflow.validate.lambda_handler", "task"),
    FunctionSpec("process", "workflow", "handlers.workflow.process.lambda_handler", "task", (TABLE,)),
    FunctionSpec("notify", "workflow", "handlers.workflow.notify.lambda_handler", "task", (TABLE, TOPIC)),
    FunctionSpec("mark-failed", "workflow", "handlers.workflow.mark_failed.lambda_handler", "task", (TABLE,)),
    FunctionSpec("digest", "scheduled", "handlers.scheduled.digest.lambda_handler", "task", (TABLE, TOPIC)),
    FunctionSpec("stream-consumer", "stream", "handlers.stream.consumer.lambda_handler", "task", (TOPIC,)),
)
# Set on every function (Powertools' own settings).
COMMON_ENVIRONMENT = ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL")


def function(name: str) -> FunctionSpec:
    """The spec of one function by short name."""
    return next(spec for spec in FUNCTIONS if spec.name == name)

# Dead-letter queues that are not a function's own: the schedule's EventBridge target.
EXTRA_QUEUES: tuple[str, ...] = ("schedule",)


def dlq_names() -> list[str]:
    """Short names of every dead-letter queue the data layer creates."""
    return [spec.name for spec in FUNCTIONS] + list(EXTRA_QUEUES)
