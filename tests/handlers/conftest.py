"""Fixtures for in-process handler tests: environment, moto resources, events, Lambda context, faults.

Handler modules validate their environment when imported, so tests get them through fixtures
(``api``, ``load_handler``) that import them after the environment is in place. Plain helpers
(resource names, events, table readers) are in :mod:`tests.handlers.helpers`.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.handlers.helpers import (
    ACCOUNT,
    ENVIRONMENT,
    IDEMPOTENCY_TABLE_NAME,
    REGION,
    STATE_MACHINE_NAME,
    TABLE_NAME,
    TOPIC_NAME,
    ApiResponse,
    FakeLambdaContext,
    make_api_event,
)

# Logger and Metrics are process-wide and read their service name and namespace when first
# imported, which can happen while tests are collected: give them their variables first.
for _name, _value in {
    "POWERTOOLS_SERVICE_NAME": "serverless-app-test",
    "POWERTOOLS_METRICS_NAMESPACE": "ServerlessAppTest",
}.items():
    os.environ.setdefault(_name, _value)

from handlers.api import dependencies  # noqa: E402
from handlers.shared.aws import clients  # noqa: E402
from handlers.shared.observability import metrics  # noqa: E402

# One session for the fixtures' own clients: moto resets boto3's default session on every start,
# and loading the service models again for each test would dominate the suite's run time.
_SESSION = boto3.session.Session(region_name=REGION)


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, region and every function's variables; no real endpoint or profile."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "LAMBDA_TASK_ROOT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    yield


@pytest.fixture(autouse=True)
def fresh_container() -> Iterator[None]:
    """Every test starts like a new Lambda container: no cached client, adapter or settings."""
    clients.reset()
    dependencies.reset()
    metrics.clear_metrics()
    yield
    clients.reset()
    dependencies.reset()
    metrics.clear_metrics()


@pytest.fixture
def aws() -> Iterator[None]:
    """moto for the duration of the test."""
    with mock_aws():
        yield


@pytest.fixture
def table(aws: None) -> Any:
    """The single table (pk/sk, GSI1, TTL, stream) and the idempotency table."""
    dynamodb = _SESSION.client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE_NAME,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    dynamodb.update_time_to_live(
        TableName=TABLE_NAME, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    dynamodb.create_table(
        TableName=IDEMPOTENCY_TABLE_NAME,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    return dynamodb


@pytest.fixture
def state_machine(aws: None) -> Any:
    """The job workflow's state machine (moto records executions without running them)."""
    sfn = _SESSION.client("stepfunctions")
    sfn.create_state_machine(
        name=STATE_MACHINE_NAME,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
    )
    return sfn


@dataclass
class TopicProbe:
    """Reads what was published to the events topic through a subscribed SQS queue."""

    sqs: Any
    queue_url: str
    received: list[dict[str, Any]] = field(default_factory=list)

    def messages(self) -> list[dict[str, Any]]:
        """Every message published so far: ``{"body": <json>, "event_type": <attribute>}``."""
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return list(self.received)
            for message in batch:
                envelope = json.loads(message["Body"])
                attributes = envelope.get("MessageAttributes", {})
                self.received.append(
                    {
                        "body": json.loads(envelope["Message"]),
                        "event_type": attributes.get("event_type", {}).get("Value"),
                    }
                )
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def topic(aws: None) -> TopicProbe:
    """The events topic with a queue subscribed to it."""
    sns = _SESSION.client("sns")
    sqs = _SESSION.client("sqs")
    arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    queue_url = sqs.create_queue(QueueName="events-probe")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    return TopicProbe(sqs=sqs, queue_url=queue_url)


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    """A fake Lambda context."""
    return FakeLambdaContext()


@pytest.fixture
def api_event() -> Callable[..., dict[str, Any]]:
    """Factory of API Gateway proxy events (see make_api_event)."""
    return make_api_event


@pytest.fixture
def load_handler() -> Callable[[str], Any]:
    """Import a handler module (after the environment fixtures ran) and return it."""
    return importlib.import_module


@pytest.fixture
def api(table: Any, state_machine: Any, lambda_context: FakeLambdaContext) -> Callable[..., ApiResponse]:
    """Call the API's lambda_handler in-process: ``api("POST", "/items", body={...})``."""
    module = importlib.import_module("handlers.api.app")

    def call(method: str, path: str, **kwargs: Any) -> ApiResponse:
        event = make_api_event(method, path, **kwargs)
        response = module.lambda_handler(event, lambda_context)
        headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers.setdefault(name, ", ".join(values))
        text = response.get("body")
        body = json.loads(text) if text else None
        return ApiResponse(status=response["statusCode"], headers=headers, body=body, raw=response)

    return call


@dataclass
class Fault:
    """An injected failure: which operations were attempted, and a switch to end the outage."""

    calls: list[str] = field(default_factory=list)
    active: bool = True

    def clear(self) -> None:
        """The dependency recovers: later calls go through."""
        self.active = False


@pytest.fixture
def inject_fault(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Fault]:
    """Make ``<service>.<Operation>`` raise ``error`` on the factory's client (for one table, or ``when``).

    Patching ``_make_api_call`` sits above botocore's retries, so the test is fast and sees exactly
    the error an exhausted retry loop would raise.
    """

    def inject(
        service: str,
        operation: str,
        error: Exception,
        *,
        table: str | None = None,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Fault:
        client = clients.get(service)  # type: ignore[call-overload]
        original = client._make_api_call
        fault = Fault()

        def failing(operation_name: str, params: dict[str, Any]) -> Any:
            fault.calls.append(operation_name)
            matches = (
                operation_name == operation
                and (table is None or params.get("TableName") == table)
                and (when is None or when(params))
            )
            if fault.active and matches:
                raise error
            return original(operation_name, params)

        monkeypatch.setattr(client, "_make_api_call", failing)
        return fault

    return inject


