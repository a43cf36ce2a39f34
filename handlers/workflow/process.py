"""Workflow task ``process``: compute the job result and store it exactly once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.shared.aws import clients
from handlers.shared.aws.job_transitions import JobTransitions
from handlers.shared.observability import logger, metrics, tracer
from handlers.shared.settings import ProcessTaskEnvironment, load_settings
from handlers.workflow import logic
from handlers.workflow.models import ValidatedState

settings = load_settings(ProcessTaskEnvironment)
jobs = JobTransitions(settings.table_name)
# Clients are created during init, like the settings: the first invocation pays nothing extra.
clients.get("dynamodb")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Return the state plus ``result``; raise TransientError when DynamoDB is unavailable."""
    state = logic.parse_state(ValidatedState, event)
    logger.append_keys(job_id=state.job_id)
    return logic.process(state, jobs)
