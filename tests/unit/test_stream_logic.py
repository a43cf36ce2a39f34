"""Stream records of items become ItemCreated/ItemUpdated/ItemDeleted; other records are ignored."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from handlers.stream.logic import MalformedRecord, item_event

ITEM_ID = "0b0a1c4e-1d2f-4a3b-8c4d-5e6f7a8b9c0d"


def _image(name: str, version: int, tags: list[str]) -> dict[str, Any]:
    return {
        "pk": {"S": f"ITEM#{ITEM_ID}"},
        "sk": {"S": "ITEM"},
        "id": {"S": ITEM_ID},
        "name": {"S": name},
        "tags": {"L": [{"S": tag} for tag in tags]},
        "version": {"N": str(version)},
        "created_at": {"S": "2025-01-01T00:00:00.000000Z"},
        "updated_at": {"S": "2025-01-02T00:00:00.000000Z"},
    }


def _record(name: str, keys: dict[str, Any], new: Any = None, old: Any = None) -> DynamoDBRecord:
    stream: dict[str, Any] = {"Keys": keys, "SequenceNumber": "111", "ApproximateCreationDateTime": 1735689600}
    if new is not None:
        stream["NewImage"] = new
    if old is not None:
        stream["OldImage"] = old
    return DynamoDBRecord({"eventID": "evt-1", "eventName": name, "eventSource": "aws:dynamodb", "dynamodb": stream})


ITEM_KEYS = {"pk": {"S": f"ITEM#{ITEM_ID}"}, "sk": {"S": "ITEM"}}


def test_insert_is_item_created() -> None:
    event = item_event(_record("INSERT", ITEM_KEYS, new=_image("Lamp", 1, ["a"])))

    assert event is not None
    assert event["event_type"] == "ItemCreated"
    assert event["event_id"] == "evt-1"
    assert event["occurred_at"] == "2025-01-01T00:00:00.000000Z"
    assert event["item"] == {
        "id": ITEM_ID,
        "name": "Lamp",
        "description": None,
        "tags": ["a"],
        "version": 1,
        "created_at": "2025-01-01T00:00:00.000000Z",
        "updated_at": "2025-01-02T00:00:00.000000Z",
    }


def test_modify_is_item_updated_with_changed_fields() -> None:
    event = item_event(_record("MODIFY", ITEM_KEYS, new=_image("Desk lamp", 2, ["a"]), old=_image("Lamp", 1, ["a"])))

    assert event is not None
    assert event["event_type"] == "ItemUpdated"
    assert event["changed_fields"] == ["name"]
    assert (event["previous"]["version"], event["item"]["version"]) == (1, 2)


def test_remove_is_item_deleted_with_the_old_image() -> None:
    event = item_event(_record("REMOVE", ITEM_KEYS, old=_image("Lamp", 3, [])))

    assert event is not None
    assert event["event_type"] == "ItemDeleted"
    assert event["item"]["version"] == 3


@pytest.mark.parametrize(
    "keys",
    [{"pk": {"S": f"JOB#{ITEM_ID}"}, "sk": {"S": "JOB"}}, {"pk": {"S": "DIGEST#2025-01-01"}, "sk": {"S": "DIGEST"}}],
)
def test_other_records_are_ignored(keys: dict[str, Any]) -> None:
    assert item_event(_record("INSERT", keys, new={"pk": keys["pk"]})) is None


@pytest.mark.parametrize(
    "record",
    [
        _record("INSERT", ITEM_KEYS),
        _record("INSERT", ITEM_KEYS, new={"pk": {"S": f"ITEM#{ITEM_ID}"}, "name": {"S": "no id"}}),
        _record("UPSERT", ITEM_KEYS, new=_image("Lamp", 1, [])),
        DynamoDBRecord({"eventID": "evt-2", "eventName": "INSERT"}),
    ],
)
def test_malformed_records_raise(record: DynamoDBRecord) -> None:
    with pytest.raises(MalformedRecord):
        item_event(record)
