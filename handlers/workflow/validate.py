"""Workflow task ``validate``: check the job payload against the processing rules."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.shared.observability import logger, metrics, tracer
from handlers.shared.settings import ValidateTaskEnvironment, load_settings
from handlers.workflow import logic
from handlers.workflow.models import JobState

settings = load_settings(ValidateTaskEnvironment)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Return the state plus ``operation``; raise JobValidationError for an invalid payload."""
    state = logic.parse_state(JobState, event)
    logger.append_keys(job_id=state.job_id)
    return logic.validate(state)
