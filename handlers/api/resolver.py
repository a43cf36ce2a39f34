"""Builds the API's resolver: one REST resolver with validation, JSON-only bodies, CORS and every router."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig

from handlers.api.errors import register_error_handlers
from handlers.api.json_body import JsonApiResolver, accept_json_bodies_only
from handlers.api.routes import health, items, jobs
from handlers.shared.settings import ApiEnvironment

# Exposed so browsers can read where a created resource lives and when to retry.
EXPOSED_HEADERS = ["Location", "Retry-After"]
EXTRA_ALLOWED_HEADERS = ["Idempotency-Key"]
PREFLIGHT_MAX_AGE_SECONDS = 600


def cors_config(allowed_origins: tuple[str, ...]) -> CORSConfig | None:
    """CORS for the configured origins; None (no CORS headers at all) when there are none."""
    if not allowed_origins:
        return None
    return CORSConfig(
        allow_origin=allowed_origins[0],
        extra_origins=list(allowed_origins[1:]),
        allow_headers=EXTRA_ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        max_age=PREFLIGHT_MAX_AGE_SECONDS,
    )


def build_app(settings: ApiEnvironment) -> APIGatewayRestResolver:
    """Return a resolver serving every route of :mod:`handlers.api.routes_table`.

    ``APIGatewayRestResolver`` reads REST API proxy events and HTTP API payload 1.0 events, which
    have the same shape, so one handler serves both.
    """
    app = JsonApiResolver(enable_validation=True, cors=cors_config(settings.allowed_origins))
    accept_json_bodies_only(app)
    register_error_handlers(app)
    app.include_router(health.router)
    app.include_router(items.router)
    app.include_router(jobs.router)
    return app
