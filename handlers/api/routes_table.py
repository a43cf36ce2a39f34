"""The API's routes and request body schemas as plain data, for the infrastructure.

The infrastructure builds API Gateway resources, methods and request models from this module, so
it imports nothing but the standard library (no boto3, no Powertools, no pydantic).

* ``ROUTES``: every ``(method, path)`` the API function serves, paths in API Gateway syntax.
* ``PUBLIC_ROUTES``: the routes that need no API key.
* ``REQUEST_SCHEMAS``: ``(method, path) -> JSON Schema draft-04`` of the body (API Gateway models
  are draft-04). They are deliberately a little looser than the pydantic models (lengths counted
  before trimming are not checked here), so the gateway never rejects a body the function accepts;
  a unit test keeps them in step with :mod:`handlers.api.models`.
* ``REQUEST_MODEL_NAMES``: a stable model name per schema.
"""

from __future__ import annotations

from typing import Any, Final

Route = tuple[str, str]

ROUTES: Final[tuple[Route, ...]] = (
    ("GET", "/health"),
    ("POST", "/items"),
    ("GET", "/items"),
    ("GET", "/items/{id}"),
    ("PUT", "/items/{id}"),
    ("DELETE", "/items/{id}"),
    ("POST", "/jobs"),
    ("GET", "/jobs/{id}"),
)

PUBLIC_ROUTES: Final[frozenset[Route]] = frozenset({("GET", "/health")})

_DRAFT_04 = "http://json-schema.org/draft-04/schema#"

_NAME: dict[str, Any] = {"type": "string", "minLength": 1, "pattern": "\\S"}
_DESCRIPTION: dict[str, Any] = {"type": ["string", "null"], "maxLength": 2000}
_TAGS: dict[str, Any] = {
    "type": "array",
    "maxItems": 20,
    "uniqueItems": True,
    "items": {"type": "string", "minLength": 1, "pattern": "\\S"},
}

CREATE_ITEM_SCHEMA: Final[dict[str, Any]] = {
    "$schema": _DRAFT_04,
    "title": "CreateItemRequest",
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {"name": _NAME, "description": _DESCRIPTION, "tags": _TAGS},
}

UPDATE_ITEM_SCHEMA: Final[dict[str, Any]] = {
    "$schema": _DRAFT_04,
    "title": "UpdateItemRequest",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "version"],
    "properties": {
        "name": _NAME,
        "description": _DESCRIPTION,
        "tags": _TAGS,
        "version": {"type": "integer", "minimum": 1},
    },
}

CREATE_JOB_SCHEMA: Final[dict[str, Any]] = {
    "$schema": _DRAFT_04,
    "title": "CreateJobRequest",
    "type": "object",
    "additionalProperties": False,
    "required": ["payload"],
    "properties": {"payload": {"type": "object"}},
}

REQUEST_SCHEMAS: Final[dict[Route, dict[str, Any]]] = {
    ("POST", "/items"): CREATE_ITEM_SCHEMA,
    ("PUT", "/items/{id}"): UPDATE_ITEM_SCHEMA,
    ("POST", "/jobs"): CREATE_JOB_SCHEMA,
}

REQUEST_MODEL_NAMES: Final[dict[Route, str]] = {
    route: str(schema["title"]) for route, schema in REQUEST_SCHEMAS.items()
}
