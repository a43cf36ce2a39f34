"""OpenAPI response declarations shared by the routers."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from handlers.api.models import ErrorOut


def error(description: str) -> OpenAPIResponse:
    """An OpenAPI response whose body is the standard error document."""
    return {"description": description, "content": {"application/json": {"model": ErrorOut}}}


def ok(description: str, model: type[Any] | None = None) -> OpenAPIResponse:
    """An OpenAPI success response (no body when ``model`` is None)."""
    if model is None:
        return {"description": description}
    return {"description": description, "content": {"application/json": {"model": model}}}


INVALID_ID = error("invalid_id: the id is not a UUID or ULID")
VALIDATION = error("validation_error (details name each failing field) or idempotency_key_reused")
BAD_JSON = error("invalid_json: the body is not JSON")
INVALID_ID_OR_JSON = error("invalid_id: the id is not a UUID or ULID; or invalid_json: the body is not JSON")
NOT_JSON = error("unsupported_media_type: the Content-Type is not application/json")
UNAVAILABLE = error("service_unavailable: a dependency is throttled or down; retry after Retry-After")
CONFLICT = error("idempotency_request_in_progress: the first request with this key is still running")
