"""Workflow task ``mark_failed``: record the caught error and set the job FAILED."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.shared.aws import clients
from handlers.shared.aws.job_transitions import JobTransitions
from handlers.shared.observability import logger, metrics, tracer
from handlers.shared.settings import MarkFailedTaskEnvironment, load_settings
from handlers.workflow import logic
from handlers.workflow.models import FailedState

settings = load_settings(MarkFailedTaskEnvironment)
jobs = JobTransitions(settings.table_name)
# Clients are created during init, like the settings: the first invocation pays nothing extra.
clients.get("dynamodb")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Return ``{"job_id", "status"}`` after recording the failure."""
    state = logic.parse_state(FailedState, event)
    logger.append_keys(job_id=state.job_id)
    output = logic.mark_failed(state, jobs)
    metrics.add_metric(name="JobsFailed", unit="Count", value=1)
    return output
