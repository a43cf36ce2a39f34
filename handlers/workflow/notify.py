"""Workflow task ``notify``: publish JobCompleted and mark the job COMPLETED."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.shared.aws import clients
from handlers.shared.aws.events_publisher import EventsPublisher
from handlers.shared.aws.job_lookup import JobLookup
from handlers.shared.observability import logger, metrics, tracer
from handlers.shared.settings import NotifyTaskEnvironment, load_settings
from handlers.workflow import logic
from handlers.workflow.models import ProcessedState

settings = load_settings(NotifyTaskEnvironment)
jobs = JobLookup(settings.table_name)
publisher = EventsPublisher(settings.events_topic_arn)
# Clients are created during init, like the settings: the first invocation pays nothing extra.
clients.get("dynamodb")
clients.get("sns")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Return the state plus ``status`` and ``message_id``; raise TransientError on SNS/DynamoDB trouble."""
    state = logic.parse_state(ProcessedState, event)
    logger.append_keys(job_id=state.job_id)
    output = logic.notify(state, jobs, publisher)
    if output["message_id"]:
        metrics.add_metric(name="JobsCompleted", unit="Count", value=1)
    return output
