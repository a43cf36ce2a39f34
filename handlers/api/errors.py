"""Every error the API returns becomes an HTTP response here, and only here.

Domain exceptions map to (status, code) through ``DOMAIN_ERRORS``; request parsing errors of the
resolver map to 400/415/422; unknown routes to 404 or 405; anything else to a generic 500.
Client-facing messages never contain internal details: dependency failures are logged with their
cause and answered with a fixed message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from handlers.api.json_body import refused_body
from handlers.api.request_context import request_id
from handlers.api.routes_table import ROUTES
from handlers.shared.error_response import error_response
from handlers.shared.exceptions import (
    DependencyError,
    DomainError,
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
    InvalidCursorError,
    InvalidIdError,
    ItemAlreadyExists,
    ItemNotFound,
    JobNotFound,
    JobStartFailed,
    PayloadTooLarge,
    TransientError,
    VersionConflict,
)
from handlers.shared.observability import logger, metrics

UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; retry after the Retry-After delay"
INTERNAL_MESSAGE = "An internal error occurred; it has been logged with the request id"

# Client errors: the exception message is written for the client.
DOMAIN_ERRORS: dict[type[DomainError], tuple[HTTPStatus, str]] = {
    InvalidIdError: (HTTPStatus.BAD_REQUEST, "invalid_id"),
    InvalidCursorError: (HTTPStatus.BAD_REQUEST, "invalid_cursor"),
    ItemNotFound: (HTTPStatus.NOT_FOUND, "item_not_found"),
    JobNotFound: (HTTPStatus.NOT_FOUND, "job_not_found"),
    VersionConflict: (HTTPStatus.CONFLICT, "version_conflict"),
    ItemAlreadyExists: (HTTPStatus.CONFLICT, "item_already_exists"),
    IdempotencyRequestInProgress: (HTTPStatus.CONFLICT, "idempotency_request_in_progress"),
    IdempotencyKeyReused: (HTTPStatus.UNPROCESSABLE_ENTITY, "idempotency_key_reused"),
    PayloadTooLarge: (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload_too_large"),
}

# Client errors worth retrying as is, after a short wait.
RETRY_AFTER_SECONDS: dict[type[DomainError], int] = {IdempotencyRequestInProgress: 1}

ErrorT = TypeVar("ErrorT", bound=Exception)

_TEMPLATE_PARAMETER = re.compile(r"\{[^/]+\}")
_ROUTE_PATTERNS = [
    (re.compile("^" + _TEMPLATE_PARAMETER.sub("[^/]+", path) + "$"), method, path) for method, path in ROUTES
]


class _ErrorHandlers:
    """The handlers, bound to one resolver (for the request id of the current event)."""

    def __init__(self, app: APIGatewayRestResolver) -> None:
        self._app = app

    def respond(self, status: int, code: str, message: str, **extra: Any) -> Response[Any]:
        return error_response(status, code, message, request_id(self._app), **extra)

    def refusal_first(self, handler: Callable[[ErrorT], Response[Any]]) -> Callable[[ErrorT], Response[Any]]:
        """``handler``, unless the request's body is one the API refuses: then the refusal is the answer.

        Powertools' request validation reads the body before any middleware can refuse it, and may
        fail on it first (a form body without a required field, a multipart type without boundary,
        bytes that are not UTF-8): the client hears what is wrong with the body, as if checked first.
        """

        def handle(err: ErrorT) -> Response[Any]:
            refusal = refused_body(self._app.current_event)
            if refusal is None:
                return handler(err)
            if isinstance(refusal, RequestUnsupportedContentType):
                return self.unsupported_media(refusal)
            return self.invalid_request(refusal)

        return handle

    def invalid_request(self, err: RequestValidationError) -> Response[Any]:
        errors = list(err.errors())
        json_error = next((e for e in errors if e.get("type") == "json_invalid"), None)
        if json_error is not None:
            reason = (json_error.get("ctx") or {}).get("error", "malformed JSON")
            return self.respond(HTTPStatus.BAD_REQUEST, "invalid_json", f"Request body is not valid JSON: {reason}")
        details = [_detail(error) for error in errors]
        fields = ", ".join(detail["field"] for detail in details)
        return self.respond(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "validation_error",
            f"Request validation failed for: {fields}",
            details=details,
        )

    def unsupported_media(self, err: RequestUnsupportedContentType) -> Response[Any]:
        return self.respond(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", str(err))

    def not_found(self, err: NotFoundError) -> Response[Any]:
        method = self._app.current_event.http_method.upper()
        path = self._app.current_event.path
        templates = [(m, template) for pattern, m, template in _ROUTE_PATTERNS if pattern.match(path)]
        allowed = sorted({m for m, _ in templates})
        if method in allowed:
            # The path has the shape of a route but a segment the router refuses (odd characters).
            return self.respond(HTTPStatus.BAD_REQUEST, "invalid_id", "The id in the path is not a UUID or ULID")
        if allowed:
            return self.respond(
                HTTPStatus.METHOD_NOT_ALLOWED,
                "method_not_allowed",
                f"{method} is not allowed on {templates[0][1]}; allowed: {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        return self.respond(HTTPStatus.NOT_FOUND, "not_found", f"No route {method} {path}")

    def domain_error(self, err: DomainError) -> Response[Any]:
        for cls in type(err).__mro__:
            if cls in DOMAIN_ERRORS:
                status, code = DOMAIN_ERRORS[cls]
                retry_after = RETRY_AFTER_SECONDS.get(cls)
                headers = {"Retry-After": str(retry_after)} if retry_after else None
                return self.respond(status, code, str(err), headers=headers)
        if isinstance(err, TransientError | JobStartFailed):
            logger.warning("Dependency unavailable", error=str(err), exc_info=err)
            metrics.add_metric(name="DependencyUnavailable", unit="Count", value=1)
            return self.respond(
                HTTPStatus.SERVICE_UNAVAILABLE,
                "service_unavailable",
                UNAVAILABLE_MESSAGE,
                headers={"Retry-After": str(err.retry_after_seconds)},
            )
        kind = "Dependency failure" if isinstance(err, DependencyError) else "Unmapped domain error"
        logger.error(kind, error=str(err), exc_info=err)
        return self.respond(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", INTERNAL_MESSAGE)

    def unexpected(self, err: Exception) -> Response[Any]:
        logger.exception("Unhandled error")
        return self.respond(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", INTERNAL_MESSAGE)


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    """Install the exception handlers and the not-found handler on ``app``."""
    handlers = _ErrorHandlers(app)
    app.exception_handler(RequestValidationError)(handlers.refusal_first(handlers.invalid_request))
    app.exception_handler(RequestUnsupportedContentType)(handlers.refusal_first(handlers.unsupported_media))
    app.not_found(handlers.not_found)
    app.exception_handler(DomainError)(handlers.domain_error)
    app.exception_handler(Exception)(handlers.refusal_first(handlers.unexpected))


def _detail(error: Any) -> dict[str, str]:
    location = [str(part) for part in error.get("loc", ())]
    error_type = str(error.get("type", "invalid"))
    message = str(error.get("msg", "invalid value"))
    if error_type in {"model_attributes_type", "model_type", "dict_type"}:
        message = "must be a JSON object"
    elif error_type == "extra_forbidden":
        message = "unknown field"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return {"field": ".".join(location) or "body", "message": message, "type": error_type}
