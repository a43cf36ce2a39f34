"""Entry point of the daily digest: ``handlers.scheduled.digest.lambda_handler`` (EventBridge schedule)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict

from handlers.scheduled.logic import run_digest
from handlers.shared.aws import clients
from handlers.shared.aws.digest_store import DigestStore
from handlers.shared.aws.events_publisher import EventsPublisher
from handlers.shared.observability import logger, metrics, tracer
from handlers.shared.settings import DigestEnvironment, load_settings
from handlers.shared.timeutil import utc_now

settings = load_settings(DigestEnvironment)
store = DigestStore(settings.table_name)
publisher = EventsPublisher(settings.events_topic_arn)
# Clients are created during init, like the settings: the first invocation pays nothing extra.
clients.get("dynamodb")
clients.get("sns")


class ScheduledEvent(BaseModel):
    """The part of an EventBridge scheduled event we use: ``time``, the scheduled time.

    Anchoring on it keeps a retry that runs after midnight on the day it was scheduled for.
    """

    model_config = ConfigDict(extra="ignore")

    time: AwareDatetime | None = None


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Publish today's digest once; later runs the same day publish nothing."""
    now = utc_now()
    scheduled: datetime = ScheduledEvent.model_validate(event or {}).time or now
    return run_digest(
        store,
        publisher,
        scheduled_at=scheduled,
        now=now,
        run_id=context.aws_request_id,
        remaining_millis=context.get_remaining_time_in_millis(),
    )
