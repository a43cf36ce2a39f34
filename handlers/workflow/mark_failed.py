"""Workflow task ``mark_failed``: record the caught error and set the job FAILED.

Also the target of the EventBridge rule on the job workflow's executions that ended FAILED,
TIMED_OUT or ABORTED (``detail-type`` "Step Functions Execution Status Change"): a job such an
execution left PENDING or PROCESSING is set FAILED; a finished job is left as it is.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.shared.aws import clients
from handlers.shared.aws.job_transitions import JobTransitions
from handlers.shared.exceptions import JobNotFound, JobValidationError
from handlers.shared.observability import logger, metrics, tracer
from handlers.shared.settings import MarkFailedTaskEnvironment, load_settings
from handlers.workflow import logic
from handlers.workflow.models import (
    EXECUTION_END_ERRORS,
    EXECUTION_STATUS_CHANGE,
    CaughtError,
    ExecutionStatusChange,
    FailedState,
)

settings = load_settings(MarkFailedTaskEnvironment)
jobs = JobTransitions(settings.table_name)
# Clients are created during init, like the settings: the first invocation pays nothing extra.
clients.get("dynamodb")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Return ``{"job_id", "status"}`` after recording the failure."""
    if event.get("detail-type") == EXECUTION_STATUS_CHANGE:
        return execution_ended(event)
    state = logic.parse_state(FailedState, event)
    logger.append_keys(job_id=state.job_id)
    output = logic.mark_failed(state, jobs)
    metrics.add_metric(name="JobsFailed", unit="Count", value=1)
    return output


def execution_ended(event: dict[str, Any]) -> dict[str, Any]:
    """Set the job of an execution that ended unsuccessfully FAILED unless it is finished."""
    detail = logic.parse_state(ExecutionStatusChange, event.get("detail"))
    code = EXECUTION_END_ERRORS.get(detail.status)
    if code is None:
        logger.info("Execution status needs no action", status=detail.status)
        return {"job_id": None, "status": None}
    try:
        state = FailedState(job_id=detail.name, error=CaughtError(Error=code))
    except ValueError:
        # Not started by POST /jobs (the execution name is no job id): nothing to mark.
        logger.warning("Execution is not a job's", execution_arn=detail.executionArn)
        return {"job_id": None, "status": None}
    logger.append_keys(job_id=state.job_id)
    try:
        output = logic.mark_failed(state, jobs)
    except (JobNotFound, JobValidationError):
        logger.warning("Job of the ended execution not found", execution_arn=detail.executionArn)
        return {"job_id": state.job_id, "status": None}
    metrics.add_metric(name="JobsFailedAfterExecutionEnded", unit="Count", value=1)
    return output
