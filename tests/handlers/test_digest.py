"""Daily digest: counts the last 24 h through GSI1, publishes once per day, survives crashes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from handlers.shared.aws.items_repository import item_to_attributes
from handlers.shared.exceptions import TransientError
from handlers.shared.models import Item
from tests.handlers.helpers import TABLE_NAME, client_error, stored_item

SCHEDULED = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "time": "2025-03-02T06:00:00Z"}
DAY = "2025-03-02"


@pytest.fixture
def digest(load_handler: Any, table: Any, topic: Any) -> Any:
    """The digest entry module."""
    return load_handler("handlers.scheduled.digest")


def _put_item(table: Any, created_at: str) -> None:
    item_id = str(uuid.uuid4())
    item = Item(id=item_id, name="n", tags=[], version=1, created_at=created_at, updated_at=created_at)
    table.put_item(TableName=TABLE_NAME, Item=item_to_attributes(item))


def _emitted_metrics(output: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            for definition in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                values[definition["Name"]] = document[definition["Name"]]
    return values


def test_counts_items_of_the_last_24_hours_and_publishes_once(
    digest: Any, table: Any, topic: Any, lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for created_at in (
        "2025-03-01T05:59:59.999999Z",  # just before the window
        "2025-03-01T06:00:00.000000Z",  # first instant of the window
        "2025-03-01T18:30:00.000000Z",
        "2025-03-02T05:59:59.999999Z",  # last instant of the window
        "2025-03-02T06:00:00.000000Z",  # the window is half-open
    ):
        _put_item(table, created_at)
    for _ in range(30):
        _put_item(table, "2025-03-01T12:00:00.000000Z")

    output = digest.lambda_handler(SCHEDULED, lambda_context)

    assert output["published"] is True and output["items_created"] == 33
    [message] = topic.messages()
    assert message["event_type"] == "DailyDigest"
    assert message["body"]["date"] == DAY and message["body"]["items_created"] == 33
    assert _emitted_metrics(capsys.readouterr().out)["ItemsCreatedLast24h"] == [33.0]
    marker = stored_item(table, f"DIGEST#{DAY}", "DIGEST")
    assert marker is not None and marker["status"] == {"S": "PUBLISHED"}
    assert marker["message_id"]["S"] == output["message_id"]


def test_a_second_run_the_same_day_publishes_nothing(digest: Any, topic: Any, lambda_context: Any) -> None:
    first = digest.lambda_handler(SCHEDULED, lambda_context)
    second = digest.lambda_handler({**SCHEDULED, "time": "2025-03-02T23:59:00Z"}, lambda_context)

    assert first["published"] is True
    assert second == {"date": DAY, "published": False, "reason": "PUBLISHED"}
    assert len(topic.messages()) == 1


def test_a_failed_publish_releases_the_claim_so_the_retry_publishes(
    digest: Any, table: Any, topic: Any, lambda_context: Any, inject_fault: Any
) -> None:
    fault = inject_fault("sns", "Publish", client_error("InternalError", 500))

    with pytest.raises(TransientError):
        digest.lambda_handler(SCHEDULED, lambda_context)
    assert stored_item(table, f"DIGEST#{DAY}", "DIGEST") is None
    fault.clear()
    retried = digest.lambda_handler(SCHEDULED, lambda_context)

    assert retried["published"] is True
    assert len(topic.messages()) == 1


def test_a_crashed_run_blocks_only_until_its_lease_ends(
    digest: Any, table: Any, topic: Any, lambda_context: Any
) -> None:
    def claim(lease_until: int) -> None:
        table.put_item(
            TableName=TABLE_NAME,
            Item={
                "pk": {"S": f"DIGEST#{DAY}"},
                "sk": {"S": "DIGEST"},
                "status": {"S": "CLAIMED"},
                "run_id": {"S": "crashed-run"},
                "lease_until": {"N": str(lease_until)},
            },
        )

    claim(lease_until=4_000_000_000)  # a run that is still alive
    blocked = digest.lambda_handler(SCHEDULED, lambda_context)
    claim(lease_until=1_000)  # a run that died long ago
    taken_over = digest.lambda_handler(SCHEDULED, lambda_context)

    assert blocked == {"date": DAY, "published": False, "reason": "CLAIMED"}
    assert taken_over["published"] is True
    assert len(topic.messages()) == 1
    marker = stored_item(table, f"DIGEST#{DAY}", "DIGEST")
    assert marker is not None and marker["run_id"]["S"] == lambda_context.aws_request_id


def test_the_marker_expires_through_the_table_ttl(digest: Any, table: Any, lambda_context: Any) -> None:
    digest.lambda_handler(SCHEDULED, lambda_context)

    marker = stored_item(table, f"DIGEST#{DAY}", "DIGEST")
    assert marker is not None and int(marker["expires_at"]["N"]) > 0
