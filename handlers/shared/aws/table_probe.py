"""Health probe for the table.

Operation: GetItem on a sentinel key that is never written (``pk = HEALTH#probe``). Chosen over
DescribeTable because it is a data-plane call: cheap (0.5 RCU), not subject to the low control-plane
rate limits, and it proves the function's GetItem permission and network path, which DescribeTable
would not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.shared.aws import clients
from handlers.shared.aws.errors import aws_call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

AWS_SERVICE = "dynamodb"

PROBE_KEY = {"pk": {"S": "HEALTH#probe"}, "sk": {"S": "HEALTH"}}


class TableProbe:
    """Checks that the table answers."""

    def __init__(self, table_name: str) -> None:
        self._table = table_name

    @property
    def _client(self) -> DynamoDBClient:
        # Looked up on every call: the factory owns the one client per container (and tests reset it).
        return clients.get("dynamodb")

    def check(self) -> None:
        """Return if the table answers; raise a domain error otherwise."""
        with aws_call("dynamodb.GetItem"):
            self._client.get_item(TableName=self._table, Key=PROBE_KEY, ProjectionExpression="pk")
