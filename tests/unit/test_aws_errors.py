"""Translation of botocore failures into domain errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from handlers.shared.aws.errors import ConditionFailed, aws_call, translate
from handlers.shared.exceptions import DependencyError, TransientError


def _client_error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    "code",
    [
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
    ],
)
def test_throttling_is_transient(code: str) -> None:
    error = translate(_client_error(code), "dynamodb.PutItem")

    assert type(error) is TransientError
    assert error.reason == "throttled" and error.retry_after_seconds >= 1


@pytest.mark.parametrize(("code", "status"), [("InternalServerError", 500), ("ServiceUnavailable", 503), ("", 502)])
def test_server_errors_are_transient(code: str, status: int) -> None:
    error = translate(_client_error(code, status), "sns.Publish")

    assert type(error) is TransientError and error.reason == "unavailable"


@pytest.mark.parametrize(
    "error",
    [
        ConnectTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
        EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    ],
)
def test_network_failures_are_transient(error: Exception) -> None:
    translated = translate(error, "dynamodb.GetItem")

    assert type(translated) is TransientError and translated.reason == "timeout"


def test_other_client_errors_are_not_retryable() -> None:
    error = translate(_client_error("AccessDeniedException"), "dynamodb.PutItem")

    assert type(error) is DependencyError
    assert "AccessDeniedException" in str(error)


def test_conditional_check_failure_carries_the_stored_item() -> None:
    failure = ClientError(
        {"Error": {"Code": "ConditionalCheckFailedException", "Message": "m"}, "Item": {"version": {"N": "3"}}},
        "UpdateItem",
    )

    with pytest.raises(ConditionFailed) as caught, aws_call("dynamodb.UpdateItem"):
        raise failure

    assert caught.value.item == {"version": {"N": "3"}}


def test_aws_call_chains_the_original_error() -> None:
    with pytest.raises(TransientError) as caught, aws_call("dynamodb.Query"):
        raise _client_error("ThrottlingException")

    assert isinstance(caught.value.__cause__, ClientError)
