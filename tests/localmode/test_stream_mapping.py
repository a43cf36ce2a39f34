"""DynamoDB stream records reach the mapped consumer, asynchronously, with partial batch failures honoured."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from localmode.runtime import LocalApi
from localmode.stream_mapping import records_to_retry
from tests.localmode.conftest import Deployment


def record(sequence_number: str) -> dict[str, Any]:
    return {"eventName": "INSERT", "dynamodb": {"SequenceNumber": sequence_number}}


BATCH = [record("1"), record("2"), record("3")]


@pytest.mark.parametrize(
    ("response", "failed", "report", "expected"),
    [
        ({"batchItemFailures": []}, False, True, []),
        (None, False, True, []),
        ({"batchItemFailures": [{"itemIdentifier": "2"}]}, False, True, ["2", "3"]),
        ({"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]}, False, True, ["2", "3"]),
        ({"batchItemFailures": [{"itemIdentifier": "unknown"}]}, False, True, ["1", "2", "3"]),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, False, True, ["1", "2", "3"]),
        ({"batchItemFailures": [{"itemIdentifier": "2"}]}, False, False, []),  # not reported: ignored
        ({"errorType": "RuntimeError"}, True, True, ["1", "2", "3"]),
    ],
)
def test_records_to_retry_follow_lambdas_checkpointing(response: Any, failed: bool, report: bool,
                                                       expected: list[str]) -> None:
    remaining = records_to_retry(BATCH, response, failed, report)

    assert [r["dynamodb"]["SequenceNumber"] for r in remaining] == expected


def test_an_item_write_reaches_the_stream_consumer(local_api: LocalApi, deployment: Deployment,
                                                   settled: Callable[[], None]) -> None:
    headers = local_api.headers
    created = requests.post(f"{local_api.url}/items", json={"name": "kettle"}, headers=headers, timeout=30).json()
    requests.put(f"{local_api.url}/items/{created['id']}", json={"name": "big kettle", "version": 1},
                 headers=headers, timeout=30)
    settled()

    inserted = deployment.published("ItemCreated", lambda event: event["item"]["id"] == created["id"])
    updated = deployment.published("ItemUpdated", lambda event: event["item"]["id"] == created["id"])

    assert inserted is not None and inserted["item"]["name"] == "kettle"
    assert updated is not None and updated["item"]["name"] == "big kettle"


def probe_mapping(deployment: Deployment, name: str, log: Path, mode: str, retries: int) -> tuple[str, str]:
    """A table whose stream is mapped to the probe consumer; returns (stream ARN, on-failure queue URL)."""
    stream_arn = deployment.create_table(f"serverless-app-local-{name}")
    alias = deployment.create_function(name, "lm_probe.stream.lambda_handler",
                                       {"PROBE_LOG": str(log), "PROBE_MODE": mode})
    queue_url, queue_arn = deployment.create_queue(f"{name}-failures")
    deployment.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=alias, StartingPosition="LATEST", MaximumRetryAttempts=retries,
        FunctionResponseTypes=["ReportBatchItemFailures"], DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    return stream_arn, queue_url


def put(deployment: Deployment, table: str, pk: str) -> None:
    deployment.client("dynamodb").put_item(TableName=f"serverless-app-local-{table}",
                                           Item={"pk": {"S": pk}, "sk": {"S": "X"}})


def test_a_reported_item_failure_is_retried(probe_package: str, deployment: Deployment, tmp_path: Path,
                                            settled: Callable[[], None]) -> None:
    log = tmp_path / "flaky.log"
    probe_mapping(deployment, "flaky", log, mode="flaky", retries=3)

    started = time.monotonic()
    put(deployment, "flaky", "A")
    write_seconds = time.monotonic() - started
    settled()

    batches = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(batches) == 2 and batches[0] == batches[1]  # the failed record came back
    assert write_seconds < 0.5  # the writer did not wait for the (1 s) consumer


def test_exhausted_retries_land_on_the_failure_destination(probe_package: str, deployment: Deployment,
                                                           tmp_path: Path, settled: Callable[[], None]) -> None:
    log = tmp_path / "down.log"
    stream_arn, queue_url = probe_mapping(deployment, "down", log, mode="down", retries=1)

    put(deployment, "down", "B")
    settled()

    assert len(log.read_text().splitlines()) == 2  # first attempt + one retry
    messages = deployment.client("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    failure = json.loads(messages[0]["Body"])
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert failure["DDBStreamBatchInfo"]["streamArn"] == stream_arn
