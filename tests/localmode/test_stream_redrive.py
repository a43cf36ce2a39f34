"""A stream batch the mapping gave up on is recoverable in full: the S3 on-failure destination
holds its records, and ``python -m handlers.stream.redrive`` replays them into the consumer."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from handlers.stream.redrive import Redrive, main
from tests.localmode.conftest import Deployment

TABLE = "serverless-app-local-redrive"
BUCKET = "serverless-app-local-stream-failures-123456789012"


def item_attributes(item_id: str, name: str) -> dict[str, Any]:
    """An item as the items repository stores it (so the real consumer turns it into ItemCreated)."""
    now = "2026-01-01T00:00:00.000000Z"
    return {"pk": {"S": f"ITEM#{item_id}"}, "sk": {"S": "ITEM"}, "type": {"S": "ITEM"}, "id": {"S": item_id},
            "name": {"S": name}, "tags": {"L": []}, "version": {"N": "1"}, "created_at": {"S": now},
            "updated_at": {"S": now}}


def test_a_discarded_batch_is_kept_in_full_and_redriven(probe_package: str, deployment: Deployment,
                                                        tmp_path: Path, settled: Callable[[], None]) -> None:
    # A consumer that is down: every attempt fails, the mapping gives up after one retry.
    stream_arn = deployment.create_table(TABLE)
    down = deployment.create_function("redrive-down", "lm_probe.stream.lambda_handler",
                                      {"PROBE_LOG": str(tmp_path / "down.log"), "PROBE_MODE": "down"})
    s3 = deployment.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    deployment.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=down, StartingPosition="LATEST", MaximumRetryAttempts=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        DestinationConfig={"OnFailure": {"Destination": f"arn:aws:s3:::{BUCKET}"}})
    item_id = str(uuid.uuid4())
    deployment.client("dynamodb").put_item(TableName=TABLE, Item=item_attributes(item_id, "lost kettle"))
    settled()

    # The destination holds the whole record, not only its sequence numbers.
    [key] = [entry["Key"] for entry in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    document = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert document["requestContext"]["condition"] == "RetryAttemptsExhausted"
    [record] = document["payload"]["Records"]
    assert record["dynamodb"]["NewImage"]["name"] == {"S": "lost kettle"}

    # A dry run changes nothing; the redrive replays into the real consumer, which publishes.
    redrive = Redrive(s3=s3, lambda_=deployment.client("lambda"), bucket=BUCKET,
                      function=deployment.aliases["stream-consumer"])
    assert redrive.run(dry_run=True).skipped == {key: "dry run: 1 records"}
    outcome = redrive.run()
    assert outcome.ok and outcome.replayed == [key]
    published = deployment.published("ItemCreated", lambda event: event["item"]["id"] == item_id)
    assert published is not None and published["item"]["name"] == "lost kettle"
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)  # replayed batches are removed


def test_a_batch_the_consumer_still_refuses_is_kept(probe_package: str, deployment: Deployment,
                                                    tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    for name, value in (("AWS_DEFAULT_REGION", "us-west-2"), ("AWS_ACCESS_KEY_ID", "test"),
                        ("AWS_SECRET_ACCESS_KEY", "test")):
        monkeypatch.setenv(name, value)
    bucket = "serverless-app-local-refused-failures"
    s3 = deployment.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    record = {"eventID": "1", "eventName": "INSERT", "dynamodb": {"SequenceNumber": "7", "Keys": {}}}
    s3.put_object(Bucket=bucket, Key="aws/lambda/batch.json", Body=json.dumps({"payload": {"Records": [record]}}))
    s3.put_object(Bucket=bucket, Key="notes.txt", Body=b"not a failure record")
    down = deployment.create_function("redrive-refuses", "lm_probe.stream.lambda_handler",
                                      {"PROBE_LOG": str(tmp_path / "refuses.log"), "PROBE_MODE": "down"})

    code = main(["--bucket", bucket, "--function", down, "--endpoint-url", deployment.endpoint])

    assert code == 1
    assert "FAILED (kept): aws/lambda/batch.json" in capsys.readouterr().err
    assert {entry["Key"] for entry in s3.list_objects_v2(Bucket=bucket)["Contents"]} == {
        "aws/lambda/batch.json", "notes.txt"}
