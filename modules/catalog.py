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
    kind: str  # "api" | "task" (sizing class in AppSettings)


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("api", "api", "handlers.api.app.lambda_handler", "api"),
    FunctionSpec("validate", "workflow", "handlers.workflow.validate.lambda_handler", "task"),
    FunctionSpec("process", "workflow", "handlers.workflow.process.lambda_handler", "task"),
    FunctionSpec("notify", "workflow", "handlers.workflow.notify.lambda_handler", "task"),
    FunctionSpec("mark-failed", "workflow", "handlers.workflow.mark_failed.lambda_handler", "task"),
    FunctionSpec("digest", "scheduled", "handlers.scheduled.digest.lambda_handler", "task"),
    FunctionSpec("stream-consumer", "stream", "handlers.stream.consumer.lambda_handler", "task"),
)

# Dead-letter queues that are not a function's own: the schedule's EventBridge target.
EXTRA_QUEUES: tuple[str, ...] = ("schedule",)


def dlq_names() -> list[str]:
    """Short names of every dead-letter queue the data layer creates."""
    return [spec.name for spec in FUNCTIONS] + list(EXTRA_QUEUES)
