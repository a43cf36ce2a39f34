"""Fault injection on the API's dependencies: 503 + Retry-After for transient faults, 500 otherwise.

No response may carry internal detail (exception names, AWS error codes, ARNs, table names).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from tests.handlers.helpers import IDEMPOTENCY_TABLE_NAME, TABLE_NAME, client_error

ITEM_ID = "0b0a1c4e-1d2f-4a3b-8c4d-5e6f7a8b9c0d"
ENDPOINT = "https://dynamodb.us-east-1.amazonaws.com"

TRANSIENT = {
    "throttled-provisioned": client_error("ProvisionedThroughputExceededException"),
    "throttled": client_error("ThrottlingException"),
    "request-limit": client_error("RequestLimitExceeded"),
    "too-many-requests": client_error("TooManyRequestsException", 429),
    "internal-500": client_error("InternalServerError", 500),
    "unavailable-503": client_error("ServiceUnavailable", 503),
    "connect-timeout": ConnectTimeoutError(endpoint_url=ENDPOINT),
    "read-timeout": ReadTimeoutError(endpoint_url=ENDPOINT),
    "no-connection": EndpointConnectionError(endpoint_url=ENDPOINT),
}

REQUESTS = {
    "create": ("PutItem", "POST", "/items", {"name": "Lamp"}),
    "get": ("GetItem", "GET", f"/items/{ITEM_ID}", None),
    "list": ("Query", "GET", "/items", None),
    "update": ("UpdateItem", "PUT", f"/items/{ITEM_ID}", {"name": "x", "version": 1}),
    "delete": ("DeleteItem", "DELETE", f"/items/{ITEM_ID}", None),
    "job": ("PutItem", "POST", "/jobs", {"payload": {"items": [1]}}),
    "job-status": ("GetItem", "GET", f"/jobs/{ITEM_ID}", None),
}

FORBIDDEN_IN_BODY = ("Exception", "Error(", "Throttl", "arn:aws", TABLE_NAME, "botocore", "Traceback", "injected")


def _assert_clean_503(response: Any) -> None:
    assert response.status == 503
    assert response.body["error"]["code"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    for fragment in FORBIDDEN_IN_BODY:
        assert fragment not in response.raw["body"], fragment


@pytest.mark.parametrize("fault", sorted(TRANSIENT))
@pytest.mark.parametrize("request_name", sorted(REQUESTS))
def test_transient_dynamodb_faults_are_503_with_retry_after(
    api: Any, inject_fault: Any, fault: str, request_name: str
) -> None:
    operation, method, path, body = REQUESTS[request_name]
    injected = inject_fault("dynamodb", operation, TRANSIENT[fault], table=TABLE_NAME)

    response = api(method, path, body=body)

    assert operation in injected.calls
    _assert_clean_503(response)


@pytest.mark.parametrize("fault", sorted(TRANSIENT))
def test_transient_step_functions_faults_are_503(api: Any, inject_fault: Any, fault: str) -> None:
    inject_fault("stepfunctions", "StartExecution", TRANSIENT[fault])

    _assert_clean_503(api("POST", "/jobs", body={"payload": {"items": [1]}}))


@pytest.mark.parametrize("fault", ["throttled", "internal-500", "connect-timeout"])
def test_idempotency_table_faults_are_503(api: Any, inject_fault: Any, fault: str) -> None:
    inject_fault("dynamodb", "PutItem", TRANSIENT[fault], table=IDEMPOTENCY_TABLE_NAME)

    _assert_clean_503(api("POST", "/items", body={"name": "Lamp"}, headers={"Idempotency-Key": "k"}))


@pytest.mark.parametrize(
    "error", [client_error("AccessDeniedException"), client_error("ResourceNotFoundException"), ValueError("bug")]
)
def test_non_transient_failures_are_a_generic_500(api: Any, inject_fault: Any, error: Exception) -> None:
    inject_fault("dynamodb", "GetItem", error, table=TABLE_NAME)

    response = api("GET", f"/items/{ITEM_ID}")

    assert response.status == 500
    assert response.body["error"]["code"] == "internal_error"
    assert "Retry-After" not in response.headers
    for fragment in (*FORBIDDEN_IN_BODY, "AccessDenied", "ResourceNotFound", "bug"):
        assert fragment not in response.raw["body"], fragment
