"""Fixtures for in-process handler tests: environment, moto resources, events, Lambda context, faults.

Handler modules validate their environment when imported, so tests get them through fixtures
(``api``, ``load_handler``) that import them after the environment is in place.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

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

REGION = "us-east-1"
# One session for the fixtures' own clients: moto resets boto3's default session on every start,
# and loading the service models again for each test would dominate the suite's run time.
_SESSION = boto3.session.Session(region_name=REGION)
ACCOUNT = "123456789012"
TABLE_NAME = "serverless-app-test-items"
IDEMPOTENCY_TABLE_NAME = "serverless-app-test-idempotency"
STATE_MACHINE_NAME = "serverless-app-test-jobs"
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE_NAME}"
TOPIC_NAME = "serverless-app-test-events"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC_NAME}"

ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_SERVICE_NAME": "serverless-app-test",
    "POWERTOOLS_METRICS_NAMESPACE": "ServerlessAppTest",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "TABLE_NAME": TABLE_NAME,
    "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY_TABLE_NAME,
    "STATE_MACHINE_ARN": STATE_MACHINE_ARN,
    "EVENTS_TOPIC_ARN": TOPIC_ARN,
}


@dataclass
class FakeLambdaContext:
    """The attributes of the Lambda context that Powertools and the handlers read."""

    function_name: str = "serverless-app-test-api"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:serverless-app-test-api"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_millis: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left in the invocation."""
        return self.remaining_millis


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


def _route_template(path: str) -> str:
    parts = path.split("/")
    if len(parts) == 3 and parts[1] in {"items", "jobs"} and parts[2]:
        return f"/{parts[1]}/{{id}}"
    return path


def make_api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    binary_body: bytes | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    request_id: str | None = None,
    api_key_id: str = "test-api-key-id",
    http_api: bool = False,
) -> dict[str, Any]:
    """A realistic API Gateway REST proxy event, or an HTTP API payload format 1.0 event.

    ``binary_body`` is delivered base64-encoded (``isBase64Encoded``), as API Gateway hands over bodies
    of binary media types.
    """
    all_headers = {
        "Accept": "application/json",
        "Host": "abc123.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "pytest",
        "X-Forwarded-For": "203.0.113.10",
        "X-Forwarded-Proto": "https",
    }
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    if text is not None:
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    if http_api:
        # HTTP APIs deliver header names in lower case.
        all_headers = {name.lower(): value for name, value in all_headers.items()}
    template = _route_template(path)
    item_id = path.split("/")[2] if template.endswith("{id}") else None
    event: dict[str, Any] = {
        "resource": template,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"id": item_id} if item_id else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "res123",
            "resourcePath": template,
            "httpMethod": method,
            "extendedRequestId": "ext-" + uuid.uuid4().hex[:12],
            "requestTime": "09/Apr/2025:12:34:56 +0000",
            "path": f"/prod{path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": "$default" if http_api else "prod",
            "domainPrefix": "abc123",
            "requestTimeEpoch": 1744202096000,
            "requestId": request_id or str(uuid.uuid4()),
            "identity": {
                "sourceIp": "203.0.113.10",
                "userAgent": "pytest",
                "apiKeyId": None if http_api else api_key_id,
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
            },
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "apiId": "abc123",
        },
        "body": base64.b64encode(binary_body).decode() if binary_body is not None else text,
        "isBase64Encoded": binary_body is not None,
    }
    if http_api:
        event["version"] = "1.0"
    return event


@pytest.fixture
def api_event() -> Callable[..., dict[str, Any]]:
    """Factory of API Gateway proxy events (see make_api_event)."""
    return make_api_event


@dataclass
class ApiResponse:
    """A decoded API answer."""

    status: int
    headers: dict[str, str]
    body: Any
    raw: dict[str, Any]


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


def client_error(code: str, status: int = 400, message: str = "injected") -> ClientError:
    """A botocore ClientError as the service would return it."""
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "Injected",
    )


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


def stored_item(dynamodb: Any, pk: str, sk: str) -> dict[str, Any] | None:
    """Read a raw record from the table (low-level attribute values)."""
    return dynamodb.get_item(TableName=TABLE_NAME, Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item")


def count_records(dynamodb: Any, prefix: str) -> int:
    """How many records have a pk starting with ``prefix``."""
    pages = dynamodb.get_paginator("scan").paginate(TableName=TABLE_NAME)
    return sum(1 for page in pages for record in page["Items"] if record["pk"]["S"].startswith(prefix))
