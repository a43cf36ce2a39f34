"""GET /health: one cheap GetItem on a sentinel key."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from tests.handlers.helpers import client_error


def test_healthy(api: Any, inject_fault: Any) -> None:
    fault = inject_fault("dynamodb", "NoSuchOperation", RuntimeError("unused"))

    response = api("GET", "/health")

    assert response.status == 200
    assert response.body == {"status": "ok", "checks": {"table": "ok"}}
    assert fault.calls == ["GetItem"], "one data-plane read, no DescribeTable"


@pytest.mark.parametrize(
    "error",
    [
        client_error("ProvisionedThroughputExceededException"),
        client_error("InternalServerError", 500),
        ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
        client_error("ResourceNotFoundException"),
    ],
)
def test_unhealthy_table_is_503_naming_the_check(api: Any, inject_fault: Any, error: Exception) -> None:
    inject_fault("dynamodb", "GetItem", error)

    response = api("GET", "/health", request_id="req-health-1")

    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    assert response.body["status"] == "unavailable"
    assert response.body["checks"] == {"table": "unavailable"}
    assert response.body["error"]["code"] == "service_unavailable"
    assert response.body["error"]["request_id"] == "req-health-1"
    assert "Exception" not in response.raw["body"] and "dynamodb" not in response.raw["body"]
