"""Turn DynamoDB stream records of items into domain events (pure: no AWS calls).

INSERT -> ``ItemCreated``, MODIFY -> ``ItemUpdated``, REMOVE -> ``ItemDeleted``; job and digest
records return None (ignored). Event body::

    {"event_type", "event_id" (stream eventID, for deduplication), "occurred_at",
     "item": <item>, "previous": <item before the change, ItemUpdated only>,
     "changed_fields": [...], ItemUpdated only}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)

from handlers.shared.aws.table_keys import ITEM_PK_PREFIX, ITEM_SK
from handlers.shared.exceptions import DomainError
from handlers.shared.models import Item
from handlers.shared.timeutil import to_iso

EVENT_TYPES = {
    DynamoDBRecordEventName.INSERT: "ItemCreated",
    DynamoDBRecordEventName.MODIFY: "ItemUpdated",
    DynamoDBRecordEventName.REMOVE: "ItemDeleted",
}
_COMPARED_FIELDS = ("name", "description", "tags")


class MalformedRecord(DomainError):
    """A stream record that cannot be turned into an event."""


def is_item_record(keys: dict[str, Any]) -> bool:
    """Tell whether the record's keys are those of an item (``ITEM#<id>`` / ``ITEM``)."""
    return str(keys.get("pk", "")).startswith(ITEM_PK_PREFIX) and keys.get("sk") == ITEM_SK


def item_event(record: DynamoDBRecord) -> dict[str, Any] | None:
    """Return the event for an item record, None for other records; raise MalformedRecord otherwise."""
    stream = record.dynamodb
    if stream is None or not stream.keys:
        raise MalformedRecord(f"record {record.event_id!r} has no dynamodb keys")
    if not is_item_record(stream.keys):
        return None
    try:
        name = record.event_name
    except (KeyError, ValueError) as err:
        raise MalformedRecord(f"record {record.event_id!r} has an unknown eventName") from err
    if name not in EVENT_TYPES:
        raise MalformedRecord(f"record {record.event_id!r} has no eventName")
    event: dict[str, Any] = {
        "event_type": EVENT_TYPES[name],
        "event_id": record.event_id,
        "occurred_at": _occurred_at(stream.approximate_creation_date_time),
    }
    if name is DynamoDBRecordEventName.REMOVE:
        event["item"] = _item(stream.old_image, record, "OldImage")
        return event
    item = _item(stream.new_image, record, "NewImage")
    event["item"] = item
    if name is DynamoDBRecordEventName.MODIFY:
        previous = _item(stream.old_image, record, "OldImage")
        event["previous"] = previous
        event["changed_fields"] = [field for field in _COMPARED_FIELDS if item[field] != previous[field]]
    return event


def _item(image: dict[str, Any], record: DynamoDBRecord, label: str) -> dict[str, Any]:
    if not image:
        raise MalformedRecord(f"record {record.event_id!r} lacks {label}")
    try:
        return Item.model_validate(image).model_dump(mode="json")
    except ValueError as err:
        raise MalformedRecord(f"record {record.event_id!r} has an invalid {label}: {err}") from err


def _occurred_at(epoch_seconds: int | None) -> str | None:
    if epoch_seconds is None:
        return None
    return to_iso(datetime.fromtimestamp(int(epoch_seconds), tz=UTC))
