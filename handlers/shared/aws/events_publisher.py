"""SNS publisher for domain events (topic in ``EVENTS_TOPIC_ARN``).

Operation: Publish. Every message is a JSON document with an ``event_type`` field, repeated as
the ``event_type`` message attribute so subscribers can filter without parsing the body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from handlers.shared.aws import clients
from handlers.shared.aws.errors import aws_call

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

AWS_SERVICE = "sns"


class EventsPublisher:
    """Publishes events to one SNS topic."""

    def __init__(self, topic_arn: str) -> None:
        self._topic_arn = topic_arn

    @property
    def _client(self) -> SNSClient:
        # Looked up on every call: the factory owns the one client per container (and tests reset it).
        return clients.get("sns")

    def publish(self, event_type: str, event: Mapping[str, Any], *, subject: str | None = None) -> str:
        """Publish ``event`` (which must contain ``event_type``) and return the SNS message id."""
        request: dict[str, Any] = {
            "TopicArn": self._topic_arn,
            "Message": json.dumps(dict(event), separators=(",", ":"), default=str),
            "MessageAttributes": {"event_type": {"DataType": "String", "StringValue": event_type}},
        }
        if subject:
            request["Subject"] = subject[:100]
        with aws_call("sns.Publish"):
            response = self._client.publish(**request)
        return response["MessageId"]
