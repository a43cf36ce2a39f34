"""Translate botocore failures into domain errors.

* throttling codes -> :class:`TransientError` (reason ``throttled``)
* ``InternalServerError``/``ServiceUnavailable`` and any 5xx -> :class:`TransientError` (``unavailable``)
* connect/read timeouts and connection failures -> :class:`TransientError` (``timeout``)
* ``ConditionalCheckFailedException`` -> :class:`ConditionFailed`, which the adapter turns into the
  domain meaning of that condition (not found, version conflict, ...)
* anything else -> :class:`DependencyError` (not retryable; details stay in logs)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from handlers.shared.exceptions import DependencyError, TransientError

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "Throttling",
        "ThrottledException",
        "RequestThrottledException",
        "KMSThrottlingException",
        "KmsThrottlingException",
    }
)
UNAVAILABLE_CODES = frozenset(
    {"InternalServerError", "ServiceUnavailable", "ServiceUnavailableException", "InternalFailure"}
)
_NETWORK_ERRORS = (ConnectTimeoutError, ReadTimeoutError, EndpointConnectionError, ConnectionClosedError)

THROTTLED_RETRY_AFTER = 1
UNAVAILABLE_RETRY_AFTER = 5
TIMEOUT_RETRY_AFTER = 2


class ConditionFailed(Exception):
    """A conditional write was rejected; ``item`` is the stored item (low-level format) if returned."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("conditional check failed")
        self.item = item


def translate(err: Exception, operation: str) -> Exception:
    """Return the domain error for a botocore exception raised by ``operation`` (e.g. ``dynamodb.PutItem``)."""
    if isinstance(err, ClientError):
        code = err.response.get("Error", {}).get("Code", "")
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in THROTTLING_CODES:
            return TransientError(
                f"{operation} throttled ({code})", reason="throttled", retry_after_seconds=THROTTLED_RETRY_AFTER
            )
        if code in UNAVAILABLE_CODES or status >= 500:
            return TransientError(
                f"{operation} unavailable ({code or status})",
                reason="unavailable",
                retry_after_seconds=UNAVAILABLE_RETRY_AFTER,
            )
        return DependencyError(f"{operation} failed ({code}): {err}")
    if isinstance(err, _NETWORK_ERRORS):
        return TransientError(
            f"{operation} timed out or unreachable ({type(err).__name__})",
            reason="timeout",
            retry_after_seconds=TIMEOUT_RETRY_AFTER,
        )
    return DependencyError(f"{operation} failed ({type(err).__name__}): {err}")


@contextmanager
def aws_call(operation: str) -> Iterator[None]:
    """Run one AWS call, re-raising failures as domain errors (see module docstring)."""
    try:
        yield
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise ConditionFailed(err.response.get("Item")) from err  # type: ignore[arg-type]
        raise translate(err, operation) from err
    except BotoCoreError as err:
        raise translate(err, operation) from err
