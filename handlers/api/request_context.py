"""Request id of the current API request."""

from __future__ import annotations

from typing import Any


def request_id(resolver: Any) -> str:
    """API Gateway's ``requestContext.requestId``, else the Lambda request id, else ``unknown``."""
    event = getattr(resolver, "current_event", None)
    if event is not None:
        context = event.get("requestContext") or {}
        if isinstance(context, dict) and context.get("requestId"):
            return str(context["requestId"])
    lambda_context = getattr(resolver, "lambda_context", None)
    return str(getattr(lambda_context, "aws_request_id", None) or "unknown")
