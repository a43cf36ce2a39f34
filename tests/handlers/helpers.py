"""Shared helpers of the in-process handler tests: names of the fake resources, the environment every
function gets, a fake Lambda context, API Gateway events, and readers of the table.

Fixtures live in ``conftest.py``; tests import these with ``from tests.handlers.helpers import ...``.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from modules.proxy_event import proxy_event

REPO_ROOT = Path(__file__).resolve().parents[2]

REGION = "us-east-1"
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
    event = proxy_event(
        method, path, resource=template, path_parameters={"id": item_id} if item_id else None,
        headers=all_headers, query=query or {}, context_path=f"/prod{path}",
        body=base64.b64encode(binary_body).decode() if binary_body is not None else text,
        is_base64_encoded=binary_body is not None, stage="$default" if http_api else "prod",
        request_id=request_id or str(uuid.uuid4()), source_ip="203.0.113.10",
        request_context={"resourceId": "res123", "extendedRequestId": "ext-" + uuid.uuid4().hex[:12],
                         "requestTime": "09/Apr/2025:12:34:56 +0000", "accountId": ACCOUNT, "protocol": "HTTP/1.1",
                         "domainPrefix": "abc123", "requestTimeEpoch": 1744202096000,
                         "domainName": "abc123.execute-api.us-east-1.amazonaws.com", "apiId": "abc123"},
        identity={"apiKeyId": None if http_api else api_key_id, "accountId": None, "caller": None, "user": None,
                  "userArn": None})
    if http_api:
        event["version"] = "1.0"
    return event


@dataclass
class ApiResponse:
    """A decoded API answer."""

    status: int
    headers: dict[str, str]
    body: Any
    raw: dict[str, Any]


def client_error(code: str, status: int = 400, message: str = "injected") -> ClientError:
    """A botocore ClientError as the service would return it."""
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "Injected",
    )


def stored_item(dynamodb: Any, pk: str, sk: str) -> dict[str, Any] | None:
    """Read a raw record from the table (low-level attribute values)."""
    return dynamodb.get_item(TableName=TABLE_NAME, Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item")


def count_records(dynamodb: Any, prefix: str) -> int:
    """How many records have a pk starting with ``prefix``."""
    pages = dynamodb.get_paginator("scan").paginate(TableName=TABLE_NAME)
    return sum(1 for page in pages for record in page["Items"] if record["pk"]["S"].startswith(prefix))
