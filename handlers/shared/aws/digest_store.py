"""DynamoDB data access for the daily digest: counting recent items and the per-day marker.

Operations: Query (GSI1, Select=COUNT), PutItem, UpdateItem, DeleteItem.

The marker (``pk = DIGEST#<YYYY-MM-DD>``, ``sk = DIGEST``) makes the digest idempotent per day.
It is *claimed* with a conditional put before publishing and marked PUBLISHED afterwards. A claim
carries a lease that ends when the invocation that made it must have ended (its remaining time),
so a run that crashed between claim and publish (timeout, out of memory) does not block the
Lambda retries of the same day: once the lease has expired, the next run takes the claim over and
publishes. The price is at-least-once delivery: a crash after SNS accepted the message but before
the marker says PUBLISHED leads to a second digest for that day. We prefer a rare duplicate
(subscribers can deduplicate on ``date``) to a silently lost digest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers.shared.aws import clients
from handlers.shared.aws.errors import ConditionFailed, aws_call
from handlers.shared.aws.table_keys import ITEMS_INDEX_PK
from handlers.shared.constants import ITEMS_INDEX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

AWS_SERVICE = "dynamodb"

CLAIMED = "CLAIMED"
PUBLISHED = "PUBLISHED"
MARKER_RETENTION_SECONDS = 7 * 24 * 3600


def marker_key(day: str) -> dict[str, Any]:
    """Return the primary key of the marker for ``day`` (YYYY-MM-DD)."""
    return {"pk": {"S": f"DIGEST#{day}"}, "sk": {"S": "DIGEST"}}


class DigestStore:
    """Counts items by creation time and keeps the per-day digest marker."""

    def __init__(self, table_name: str) -> None:
        self._table = table_name

    @property
    def _client(self) -> DynamoDBClient:
        # Looked up on every call: the factory owns the one client per container (and tests reset it).
        return clients.get("dynamodb")

    def count_items_created_between(self, start: str, end: str) -> int:
        """Count items with ``start <= created_at < end`` (timestamps in the stored format)."""
        total = 0
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": ITEMS_INDEX,
            # gsi1sk is "<created_at>#<id>": every key of an item created at `start` sorts after
            # `start`, every key created at `end` sorts after `end`, so BETWEEN is [start, end).
            "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk BETWEEN :start AND :end",
            "ExpressionAttributeValues": {
                ":pk": {"S": ITEMS_INDEX_PK},
                ":start": {"S": start},
                ":end": {"S": end},
            },
            "Select": "COUNT",
        }
        while True:
            with aws_call("dynamodb.Query"):
                response = self._client.query(**request)
            total += response.get("Count", 0)
            last = response.get("LastEvaluatedKey")
            if not last:
                return total
            request["ExclusiveStartKey"] = last

    def claim(self, day: str, run_id: str, *, now: int, lease_until: int) -> str | None:
        """Claim the day's digest for ``run_id``; return None on success or the status that blocks it."""
        try:
            with aws_call("dynamodb.PutItem"):
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        **marker_key(day),
                        "type": {"S": "DIGEST"},
                        "day": {"S": day},
                        "status": {"S": CLAIMED},
                        "run_id": {"S": run_id},
                        "lease_until": {"N": str(lease_until)},
                        "expires_at": {"N": str(now + MARKER_RETENTION_SECONDS)},
                    },
                    ConditionExpression=("attribute_not_exists(pk) OR (#status = :claimed AND #lease_until < :now)"),
                    ExpressionAttributeNames={"#status": "status", "#lease_until": "lease_until"},
                    ExpressionAttributeValues={":claimed": {"S": CLAIMED}, ":now": {"N": str(now)}},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ConditionFailed as err:
            return str(err.item["status"]["S"]) if err.item else CLAIMED
        return None

    def mark_published(self, day: str, run_id: str, *, message_id: str, items_created: int) -> bool:
        """Record the publication; False if another run took the claim over meanwhile."""
        try:
            with aws_call("dynamodb.UpdateItem"):
                self._client.update_item(
                    TableName=self._table,
                    Key=marker_key(day),
                    UpdateExpression=(
                        "SET #status = :published, message_id = :message_id, items_created = :count REMOVE lease_until"
                    ),
                    ConditionExpression="run_id = :run_id",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":published": {"S": PUBLISHED},
                        ":message_id": {"S": message_id},
                        ":count": {"N": str(items_created)},
                        ":run_id": {"S": run_id},
                    },
                )
        except ConditionFailed:
            return False
        return True

    def release(self, day: str, run_id: str) -> None:
        """Drop this run's claim after a failure, so a retry can publish without waiting for the lease."""
        try:
            with aws_call("dynamodb.DeleteItem"):
                self._client.delete_item(
                    TableName=self._table,
                    Key=marker_key(day),
                    ConditionExpression="run_id = :run_id AND #status = :claimed",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={":run_id": {"S": run_id}, ":claimed": {"S": CLAIMED}},
                )
        except ConditionFailed:
            return
