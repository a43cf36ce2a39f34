"""The API's request bodies are JSON, and only JSON.

Powertools' request validation also parses ``application/x-www-form-urlencoded`` and
``multipart/form-data`` bodies into the body model, and fails with an internal error on a multipart
type without a boundary. This API's contract is JSON: a route that takes a body answers any other
declared media type with 415 (``unsupported_media_type``), compares media types case-insensitively
as RFC 9110 says, and keeps the rest of the validation as it is. A request with no Content-Type is
read as JSON, the media type API Gateway assumes for it. A body that is not UTF-8 text (API Gateway
hands such bodies over base64-encoded) is 400 ``invalid_json`` like any other body that is not JSON,
where Powertools would fail with a decoding error.

Only Powertools' public interfaces are used. Its request validation runs before every user
middleware (see ``ApiGatewayResolver.resolve``: "Data Validation middleware", then global, then
route middlewares), so the contract is kept in three documented places:

* :class:`JsonApiResolver` rewrites a JSON media type written in another case (``APPLICATION/JSON``)
  to ``application/json`` in the event it resolves, so the validation reads that body as JSON;
* :func:`refuse_non_json_bodies`, a global middleware (``app.use``), stops a refused body that the
  validation could parse (form data) before it reaches a route;
* the exception handlers (:mod:`handlers.api.errors`) answer :func:`refused_body` first when the
  validation failed on such a body, so the client is told what is wrong with the body itself.
"""

from __future__ import annotations

import binascii
import re
import warnings
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.api.routes_table import REQUEST_SCHEMAS

JSON_MEDIA_TYPE = "application/json"
_SHOWN_CHARACTERS = 100  # of a refused Content-Type, in the error message
_CONTENT_TYPE = "content-type"

# The validation may parse a multipart body before it is refused (see above): its advice on their
# encoding (API Gateway binary media types) does not apply to an API that accepts none.
warnings.filterwarnings("ignore", message="Received multipart/form-data without base64 encoding", category=UserWarning)

# The routes that take a body, matched as the REST resolver matches them (trailing slashes allowed).
_BODY_ROUTES = [
    (method, re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "/*$")) for method, path in REQUEST_SCHEMAS
]


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


def takes_body(method: str, path: str) -> bool:
    """Whether the route serving ``method path`` reads a request body."""
    return any(method.upper() == route_method and pattern.match(path) for route_method, pattern in _BODY_ROUTES)


def refused_body(event: BaseProxyEvent) -> RequestUnsupportedContentType | RequestValidationError | None:
    """Why the API refuses this request's body (the error to answer), or None when it does not."""
    if not takes_body(event.http_method, event.path):
        return None
    content_type = event.headers.get(_CONTENT_TYPE)
    if not is_json(content_type):
        message = unsupported_message(content_type)
        return RequestUnsupportedContentType(message, errors=[
            {"type": "unsupported_content_type", "loc": ("body",), "msg": message, "input": {}, "ctx": {}}])
    try:
        event.decoded_body  # noqa: B018 - decoding is the check (base64, then UTF-8)
    except (UnicodeDecodeError, binascii.Error):
        return RequestValidationError([{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error",
                                        "input": {}, "ctx": {"error": "the body is not UTF-8 text"}}])
    return None


def refuse_non_json_bodies(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Global middleware: a body the API refuses never reaches a route, even if the validation parsed it."""
    refusal = refused_body(app.current_event)
    if refusal is not None:
        raise refusal
    return next_middleware(app)


def with_canonical_json_media_type(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """``event``, with a JSON Content-Type in another case or spacing written ``application/json...``.

    Parameters are kept. The event is copied, never changed in place; one whose Content-Type needs
    no rewriting is returned as it is.
    """
    changed: dict[str, Any] = {}
    for field in ("headers", "multiValueHeaders"):
        headers = event.get(field)
        if not isinstance(headers, Mapping):
            continue
        rewritten = {name: _canonical(value) if name.lower() == _CONTENT_TYPE else value
                     for name, value in headers.items()}
        if rewritten != headers:
            changed[field] = rewritten
    return {**event, **changed} if changed else event


def _canonical(value: Any) -> Any:
    if isinstance(value, list):
        return [_canonical(one) for one in value]
    if not isinstance(value, str) or not is_json(value) or not value.strip():
        return value  # not JSON, or empty (Powertools reads that as JSON already)
    parameters = value.split(";", 1)[1:]
    return ";".join([JSON_MEDIA_TYPE, *parameters])


class JsonApiResolver(APIGatewayRestResolver):
    """A REST (and HTTP API payload 1.0) resolver that reads JSON media types case-insensitively."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Resolve ``event`` with its JSON Content-Type, if any, in canonical form."""
        return super().resolve(with_canonical_json_media_type(event), context)


def accept_json_bodies_only(app: APIGatewayRestResolver) -> None:
    """Install the middleware that refuses non-JSON bodies (see the module docstring for the rest)."""
    app.use(middlewares=[refuse_non_json_bodies])
