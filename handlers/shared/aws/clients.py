"""AWS client factory: one low-level client per service per container.

Every client has explicit timeouts and the ``standard`` retry mode, so a slow or throttled
dependency fails within a bounded time instead of holding the function until it times out.
Region (``AWS_REGION``/``AWS_DEFAULT_REGION``) and endpoint (``AWS_ENDPOINT_URL``) are read by boto3.
Adapters call :func:`get` with the service name as a string literal, which keeps the IAM actions of
each function derivable by reading the adapter modules.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

try:  # SnapStart runtime hooks: part of Lambda's managed Python runtimes (3.12+), absent elsewhere.
    from snapshot_restore_py import register_after_restore
except ImportError:  # tests, local mode, runtimes without SnapStart
    register_after_restore = None

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_stepfunctions import SFNClient

ServiceName = Literal["dynamodb", "sns", "stepfunctions", "lambda", "codedeploy"]

# (connect, read) timeouts in seconds and total attempts. DynamoDB answers in milliseconds, so a
# short read timeout retried beats a long wait; SNS and Step Functions get a little more slack.
_POLICY: dict[str, tuple[float, float, int]] = {
    "dynamodb": (1.0, 3.0, 3),
    "sns": (1.0, 5.0, 3),
    "stepfunctions": (1.0, 5.0, 3),
    # The pre-traffic hook: a synchronous invocation lasts as long as the function runs (the
    # smoke checks answer in well under a second once warm; a cold start adds seconds), and a
    # second attempt would only repeat a check whose answer counts once.
    "lambda": (2.0, 25.0, 1),
    "codedeploy": (1.0, 5.0, 3),
}

_clients: dict[str, Any] = {}
_session: boto3.session.Session | None = None


def client_config(service: ServiceName) -> Config:
    """Return the botocore Config (timeouts, retries) used for ``service``."""
    connect, read, attempts = _POLICY[service]
    return Config(
        connect_timeout=connect,
        read_timeout=read,
        retries={"mode": "standard", "max_attempts": attempts},
        tcp_keepalive=True,
    )


@overload
def get(service: Literal["dynamodb"]) -> DynamoDBClient: ...
@overload
def get(service: Literal["sns"]) -> SNSClient: ...
@overload
def get(service: Literal["stepfunctions"]) -> SFNClient: ...
@overload
def get(service: Literal["lambda", "codedeploy"]) -> Any: ...  # no stubs installed for these two
def get(service: ServiceName) -> Any:
    """Return the container's client for ``service``, creating it on first use."""
    client = _clients.get(service)
    if client is None:
        global _session
        if _session is None:
            _session = boto3.session.Session()
        client = _session.client(service, config=client_config(service))
        _clients[service] = client
    return client


def after_restore() -> None:
    """Run when Lambda resumes this environment from a SnapStart snapshot: connections opened
    during init belong to the snapshot's network state, and every environment restored from
    the same snapshot would share the `random` module's state. Clients stay (they hold only
    configuration and loaded models); their connection pools are closed and reopen on demand,
    and `random` is reseeded from the OS. Ids come from `uuid4` (os.urandom), never from state
    made during init."""
    for client in _clients.values():
        client.close()
    random.seed()


if register_after_restore is not None:
    register_after_restore(after_restore)


def reset() -> None:
    """Forget every client, as a new container would (tests).

    The session is kept: it only holds configuration and botocore's loaded service models, and
    keeping it makes the next client cost milliseconds instead of a full model load.
    """
    _clients.clear()
