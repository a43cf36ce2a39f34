"""Health route (the only route without an API key)."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from handlers.api import dependencies
from handlers.api.logic.health import check_health
from handlers.api.models import HealthOut
from handlers.api.request_context import request_id
from handlers.api.routes import docs
from handlers.shared.error_response import error_body

router = Router()

RETRY_AFTER_SECONDS = 5


# GET /health: probe
@router.get(
    "/health",
    summary="Health of the API and its table",
    tags=["health"],
    responses={
        200: docs.ok("Every check is ok", HealthOut),
        422: docs.VALIDATION,
        503: docs.ok("A check failed; the failing check is 'unavailable'", HealthOut),
    },
)
def get_health() -> Response[HealthOut]:
    """Probe the table with one cheap read (GetItem on a sentinel key)."""
    checks = check_health(dependencies.table_probe())
    if all(state == "ok" for state in checks.values()):
        return Response(
            status_code=int(HTTPStatus.OK),
            content_type=content_types.APPLICATION_JSON,
            body=HealthOut(status="ok", checks=checks),
        )
    failing = ", ".join(name for name, state in checks.items() if state != "ok")
    error = error_body("service_unavailable", f"Unavailable: {failing}", request_id(router))["error"]
    return Response(
        status_code=int(HTTPStatus.SERVICE_UNAVAILABLE),
        content_type=content_types.APPLICATION_JSON,
        body=HealthOut(status="unavailable", checks=checks, error=error),
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
