"""The API's request bodies are JSON, and only JSON.

Powertools' request validation also parses ``application/x-www-form-urlencoded`` and
``multipart/form-data`` bodies into the body model, and fails with an internal error on a multipart
type without a boundary. This API's contract is JSON: :class:`JsonOnlyRequestValidation` answers any
other declared media type with 415 (``unsupported_media_type``), compares media types
case-insensitively as RFC 9110 says, and keeps the rest of the validation as it is. A request with no
Content-Type is read as JSON, the media type API Gateway assumes for it. A body that is not UTF-8 text
(API Gateway hands such bodies over base64-encoded) is 400 ``invalid_json`` like any other body that
is not JSON, where Powertools would fail with a decoding error.
"""

from __future__ import annotations

import binascii
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

JSON_MEDIA_TYPE = "application/json"
_SHOWN_CHARACTERS = 100  # of a refused Content-Type, in the error message


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header, without parameters, in lower case ("" when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json(content_type: str | None) -> bool:
    """Whether a body with this Content-Type is read as JSON (absent counts as JSON)."""
    return media_type(content_type) in ("", JSON_MEDIA_TYPE)


def unsupported_message(content_type: str | None) -> str:
    """The client-facing message of a refused Content-Type."""
    shown = (content_type or "").strip()[:_SHOWN_CHARACTERS]
    return f"Content-Type {shown!r} is not supported; send the body as {JSON_MEDIA_TYPE}"


class JsonOnlyRequestValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, with bodies read as JSON or refused."""

    def _get_body(self, app: Any) -> Any:
        content_type = app.current_event.headers.get("content-type")
        if not is_json(content_type):
            message = unsupported_message(content_type)
            raise RequestUnsupportedContentType(message, errors=[
                {"type": "unsupported_content_type", "loc": ("body",), "msg": message, "input": {}, "ctx": {}}])
        try:
            return self._parse_json_data(app)
        except (UnicodeDecodeError, binascii.Error) as err:
            raise RequestValidationError([{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error",
                                           "input": {}, "ctx": {"error": "the body is not UTF-8 text"}}]) from err


def accept_json_bodies_only(app: APIGatewayRestResolver) -> None:
    """Replace the resolver's request validation (built with ``enable_validation=True``) by the JSON-only one."""
    if not isinstance(getattr(app, "_request_validation_middleware", None), OpenAPIRequestValidationMiddleware):
        raise RuntimeError("the resolver must be built with enable_validation=True")
    app._request_validation_middleware = JsonOnlyRequestValidation()
