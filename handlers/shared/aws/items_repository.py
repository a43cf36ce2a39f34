"""DynamoDB data access for items (see the table design in :mod:`handlers.shared.aws`).

Operations: PutItem, GetItem, UpdateItem, DeleteItem, Query (GSI1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers.shared.aws import clients
from handlers.shared.aws.errors import ConditionFailed, aws_call
from handlers.shared.aws.table_keys import ITEM_PK_PREFIX, ITEM_SK, ITEMS_INDEX_PK
from handlers.shared.constants import ITEMS_INDEX
from handlers.shared.exceptions import ItemAlreadyExists, ItemNotFound, VersionConflict
from handlers.shared.models import Item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

AWS_SERVICE = "dynamodb"

PageStart = tuple[str, str]
"""Where a page starts: (created_at, id) of the last item of the previous page."""


def item_key(item_id: str) -> dict[str, Any]:
    """Return the primary key of an item."""
    return {"pk": {"S": ITEM_PK_PREFIX + item_id}, "sk": {"S": ITEM_SK}}


def page_start_key(start: PageStart) -> dict[str, Any]:
    """Return the GSI1 ExclusiveStartKey for a page starting after ``start``."""
    created_at, item_id = start
    return {
        **item_key(item_id),
        "gsi1pk": {"S": ITEMS_INDEX_PK},
        "gsi1sk": {"S": f"{created_at}#{item_id}"},
    }


def item_to_attributes(item: Item) -> dict[str, Any]:
    """Marshal an item to DynamoDB attribute values, with its keys."""
    attributes: dict[str, Any] = {
        **item_key(item.id),
        "gsi1pk": {"S": ITEMS_INDEX_PK},
        "gsi1sk": {"S": f"{item.created_at}#{item.id}"},
        "type": {"S": "ITEM"},
        "id": {"S": item.id},
        "name": {"S": item.name},
        "tags": {"L": [{"S": tag} for tag in item.tags]},
        "version": {"N": str(item.version)},
        "created_at": {"S": item.created_at},
        "updated_at": {"S": item.updated_at},
    }
    if item.description is not None:
        attributes["description"] = {"S": item.description}
    return attributes


def item_from_attributes(attributes: dict[str, Any]) -> Item:
    """Unmarshal DynamoDB attribute values into an item."""
    return Item(
        id=attributes["id"]["S"],
        name=attributes["name"]["S"],
        description=attributes["description"]["S"] if "description" in attributes else None,
        tags=[tag["S"] for tag in attributes.get("tags", {}).get("L", [])],
        version=int(attributes["version"]["N"]),
        created_at=attributes["created_at"]["S"],
        updated_at=attributes["updated_at"]["S"],
    )


class ItemsRepository:
    """Reads and writes item records; raises domain errors only."""

    def __init__(self, table_name: str) -> None:
        self._table = table_name

    @property
    def _client(self) -> DynamoDBClient:
        # Looked up on every call: the factory owns the one client per container (and tests reset it).
        return clients.get("dynamodb")

    def put_new(self, item: Item) -> None:
        """Store a new item; never overwrite an existing one (raises ItemAlreadyExists)."""
        try:
            with aws_call("dynamodb.PutItem"):
                self._client.put_item(
                    TableName=self._table,
                    Item=item_to_attributes(item),
                    ConditionExpression="attribute_not_exists(pk)",
                )
        except ConditionFailed as err:
            raise ItemAlreadyExists(f"Item {item.id!r} already exists") from err

    def get(self, item_id: str) -> Item | None:
        """Return the item, or None when it does not exist (strongly consistent read)."""
        with aws_call("dynamodb.GetItem"):
            response = self._client.get_item(TableName=self._table, Key=item_key(item_id), ConsistentRead=True)
        stored = response.get("Item")
        return item_from_attributes(stored) if stored else None

    def replace(
        self,
        item_id: str,
        *,
        name: str,
        description: str | None,
        tags: list[str],
        expected_version: int,
        updated_at: str,
    ) -> Item:
        """Overwrite the editable fields if the stored version is ``expected_version``; bump the version.

        Raises ItemNotFound or VersionConflict, told apart from the stored item DynamoDB returns
        with the failed condition (no second read).
        """
        assignments = ["#name = :name", "#tags = :tags", "#version = :next", "#updated_at = :updated_at"]
        values: dict[str, Any] = {
            ":name": {"S": name},
            ":tags": {"L": [{"S": tag} for tag in tags]},
            ":expected": {"N": str(expected_version)},
            ":next": {"N": str(expected_version + 1)},
            ":updated_at": {"S": updated_at},
        }
        removal = ""
        if description is None:
            removal = " REMOVE #description"
        else:
            assignments.append("#description = :description")
            values[":description"] = {"S": description}
        update = "SET " + ", ".join(assignments) + removal
        try:
            with aws_call("dynamodb.UpdateItem"):
                response = self._client.update_item(
                    TableName=self._table,
                    Key=item_key(item_id),
                    UpdateExpression=update,
                    ConditionExpression="attribute_exists(pk) AND #version = :expected",
                    ExpressionAttributeNames={
                        "#name": "name",
                        "#description": "description",
                        "#tags": "tags",
                        "#version": "version",
                        "#updated_at": "updated_at",
                    },
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ConditionFailed as err:
            if not err.item:
                raise ItemNotFound(f"Item {item_id!r} not found") from err
            current = err.item["version"]["N"]
            raise VersionConflict(
                f"Item {item_id!r} is at version {current}, not {expected_version}; fetch it and retry"
            ) from err
        return item_from_attributes(response["Attributes"])

    def delete(self, item_id: str) -> None:
        """Delete the item; raise ItemNotFound when there is nothing to delete."""
        try:
            with aws_call("dynamodb.DeleteItem"):
                self._client.delete_item(
                    TableName=self._table,
                    Key=item_key(item_id),
                    ConditionExpression="attribute_exists(pk)",
                )
        except ConditionFailed as err:
            raise ItemNotFound(f"Item {item_id!r} not found") from err

    def list_newest(self, limit: int, after: PageStart | None) -> tuple[list[Item], bool]:
        """Return up to ``limit`` items, newest first, starting after ``after``; and whether more exist.

        Asks for one item more than the page so the last page never ends with a useless cursor.
        """
        items: list[Item] = []
        start = page_start_key(after) if after else None
        while True:
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": ITEMS_INDEX,
                "KeyConditionExpression": "gsi1pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": ITEMS_INDEX_PK}},
                "ScanIndexForward": False,
                "Limit": limit + 1 - len(items),
            }
            if start:
                request["ExclusiveStartKey"] = start
            with aws_call("dynamodb.Query"):
                response = self._client.query(**request)
            items.extend(item_from_attributes(attributes) for attributes in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            # A 1 MB response page can stop short of Limit: keep reading until the page is full.
            if len(items) > limit or not start:
                break
        return items[:limit], len(items) > limit
