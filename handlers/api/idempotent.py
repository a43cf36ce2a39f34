"""Answer a POST once per Idempotency-Key: a retry gets the first response, identical."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from handlers.api import dependencies
from handlers.api.models import IDEMPOTENCY_KEY_MAX

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX,
        pattern=r"^[\x21-\x7e]+$",
        description="Retries with the same key and body get the first response, for 24 hours",
    ),
]
"""The optional Idempotency-Key header of the POST routes: 1-255 visible ASCII characters."""


class Outcome(TypedDict):
    """A JSON-serializable response, what the idempotency store records and replays."""

    status: int
    body: dict[str, Any]
    location: str


def respond_once(
    *,
    scope: str,
    key: str | None,
    request: BaseModel,
    event: BaseProxyEvent,
    context: LambdaContext | None,
    operation: Callable[[], Outcome],
) -> Response[Any]:
    """Run ``operation`` unless this key was already answered; return the (first) response.

    Without a key the operation simply runs. The key is scoped to the route and to the caller's API
    key, and the validated body is its fingerprint (another body with the same key is rejected).
    """
    if key is None:
        outcome = operation()
    else:
        identity = (event.get("requestContext") or {}).get("identity") or {}
        recorded = dependencies.idempotency_store().run_once(
            scope=scope,
            key=key,
            caller=identity.get("apiKeyId"),
            request=request.model_dump(mode="json"),
            operation=lambda: dict(operation()),
            lambda_context=context,
        )
        outcome = Outcome(status=recorded["status"], body=recorded["body"], location=recorded["location"])
    return Response(
        status_code=outcome["status"],
        content_type=content_types.APPLICATION_JSON,
        body=outcome["body"],
        headers={"Location": outcome["location"]},
    )
