"""Stream consumer: item changes become events; failures are reported per record."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.handlers.helpers import ACCOUNT, REGION, TABLE_NAME, client_error

STREAM_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE_NAME}/stream/2025-01-01T00:00:00.000"


class StreamRecorder:
    """Reproduces what a NEW_AND_OLD_IMAGES stream delivers for the changes a test makes.

    Each action is bracketed by two scans of the table; every record that appeared, changed or
    disappeared becomes an INSERT, MODIFY or REMOVE record with the real stored images, in the
    format the Lambda event source mapping uses. (moto's DynamoDB Streams API does not answer with
    this botocore version, so the stream is rebuilt from the table itself.)
    """

    def __init__(self, table: Any) -> None:
        self._table = table
        self._sequence = 100
        self.records: list[dict[str, Any]] = []

    def _snapshot(self) -> dict[tuple[str, str], dict[str, Any]]:
        items = self._table.scan(TableName=TABLE_NAME)["Items"]
        return {(item["pk"]["S"], item["sk"]["S"]): item for item in items}

    def record(self, action: Callable[[], Any]) -> Any:
        """Run ``action`` and append the stream records of what it changed."""
        before = self._snapshot()
        result = action()
        after = self._snapshot()
        for key in sorted(set(before) | set(after)):
            old, new = before.get(key), after.get(key)
            if old == new:
                continue
            self._append(key, old, new)
        return result

    def _append(self, key: tuple[str, str], old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        self._sequence += 1
        stream: dict[str, Any] = {
            "ApproximateCreationDateTime": 1735689600 + self._sequence,
            "Keys": {"pk": {"S": key[0]}, "sk": {"S": key[1]}},
            "SequenceNumber": f"{self._sequence:021d}",
            "SizeBytes": 256,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if new is not None:
            stream["NewImage"] = new
        if old is not None:
            stream["OldImage"] = old
        self.records.append(
            {
                "eventID": uuid.uuid4().hex,
                "eventName": "INSERT" if old is None else ("REMOVE" if new is None else "MODIFY"),
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": stream,
                "eventSourceARN": STREAM_ARN,
            }
        )

    def event(self) -> dict[str, Any]:
        """The Lambda event carrying every record so far."""
        return {"Records": copy.deepcopy(self.records)}


@pytest.fixture
def consumer(load_handler: Any, table: Any, topic: Any) -> Any:
    """The stream consumer entry module."""
    return load_handler("handlers.stream.consumer")


@pytest.fixture
def stream(table: Any) -> StreamRecorder:
    """Records the stream of the changes a test makes."""
    return StreamRecorder(table)


def _published(topic: Any) -> list[tuple[str, str]]:
    return [(m["event_type"], m["body"]["item"]["id"]) for m in topic.messages()]


def test_item_changes_become_events_and_other_records_are_ignored(
    api: Any, consumer: Any, stream: StreamRecorder, topic: Any, lambda_context: Any
) -> None:
    item_id = stream.record(lambda: api("POST", "/items", body={"name": "Lamp"}).body["id"])
    stream.record(lambda: api("PUT", f"/items/{item_id}", body={"name": "Desk lamp", "version": 1}))
    stream.record(lambda: api("DELETE", f"/items/{item_id}"))
    stream.record(lambda: api("POST", "/jobs", body={"payload": {"items": [1]}}))
    event = stream.event()
    assert [r["eventName"] for r in event["Records"]] == ["INSERT", "MODIFY", "REMOVE", "INSERT"]

    response = consumer.lambda_handler(event, lambda_context)

    assert response == {"batchItemFailures": []}
    assert _published(topic) == [("ItemCreated", item_id), ("ItemUpdated", item_id), ("ItemDeleted", item_id)]
    created, updated, deleted = (m["body"] for m in topic.received)
    assert created["event_id"] == event["Records"][0]["eventID"]
    assert updated["changed_fields"] == ["name"]
    assert (updated["previous"]["name"], updated["item"]["name"]) == ("Lamp", "Desk lamp")
    assert deleted["item"]["version"] == 2


def test_a_malformed_record_fails_alone(
    api: Any, consumer: Any, stream: StreamRecorder, topic: Any, lambda_context: Any
) -> None:
    ids = [stream.record(lambda n=n: api("POST", "/items", body={"name": f"item {n}"}).body["id"]) for n in range(3)]
    event = stream.event()
    broken = event["Records"][1]
    del broken["dynamodb"]["NewImage"]["name"]

    response = consumer.lambda_handler(event, lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": broken["dynamodb"]["SequenceNumber"]}]}
    assert _published(topic) == [("ItemCreated", ids[0]), ("ItemCreated", ids[2])]


def test_an_sns_failure_reports_the_record_for_retry(
    api: Any, consumer: Any, stream: StreamRecorder, topic: Any, lambda_context: Any, inject_fault: Any
) -> None:
    stream.record(lambda: api("POST", "/items", body={"name": "Lamp"}))
    stream.record(lambda: api("POST", "/items", body={"name": "Chair"}))
    event = stream.event()
    inject_fault("sns", "Publish", client_error("Throttling"), when=lambda params: "Chair" in params["Message"])

    response = consumer.lambda_handler(event, lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["dynamodb"]["SequenceNumber"]}]}
    assert [m["body"]["item"]["name"] for m in topic.messages()] == ["Lamp"]
