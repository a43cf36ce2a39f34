"""Entry point of the stream consumer: ``handlers.stream.consumer.lambda_handler``.

Reads the table's stream (NEW_AND_OLD_IMAGES) and publishes ItemCreated / ItemUpdated /
ItemDeleted to ``EVENTS_TOPIC_ARN``. Records are handled one by one with partial batch failures:
a record that fails (malformed, or SNS unavailable) is reported in ``batchItemFailures`` and the
event source mapping retries from the first failed record, so delivery is at least once and
subscribers deduplicate on ``event_id``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.shared.aws import clients
from handlers.shared.aws.events_publisher import EventsPublisher
from handlers.shared.observability import logger, metrics, tracer
from handlers.shared.settings import StreamConsumerEnvironment, load_settings
from handlers.stream.logic import item_event

settings = load_settings(StreamConsumerEnvironment)
publisher = EventsPublisher(settings.events_topic_arn)
# Clients are created during init, like the settings: the first invocation pays nothing extra.
clients.get("sns")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> str | None:
    """Publish the record's event; return the SNS message id (None for ignored records)."""
    event = item_event(record)
    if event is None:
        return None
    message_id = publisher.publish(event["event_type"], event)
    metrics.add_metric(name="ItemEventsPublished", unit="Count", value=1)
    return message_id


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Return ``{"batchItemFailures": [...]}`` naming the records to retry."""
    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
