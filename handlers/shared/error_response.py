"""The one helper that shapes every error the API returns.

Body: ``{"error": {"code": "snake_case", "message": "...", "request_id": "..."}}`` plus, for
validation errors only, ``details`` (a list of ``{"field", "message", "type"}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types


def error_body(
    code: str,
    message: str,
    request_id: str,
    details: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Return the JSON error document."""
    error: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details:
        error["details"] = [dict(detail) for detail in details]
    return {"error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str,
    *,
    headers: Mapping[str, str] | None = None,
    details: Sequence[Mapping[str, Any]] | None = None,
) -> Response[dict[str, Any]]:
    """Return a Powertools Response carrying :func:`error_body`."""
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=error_body(code, message, request_id, details),
        headers=dict(headers or {}),
    )
