"""Entry point of the API function: ``handlers.api.app.lambda_handler``.

Init validates the environment (a bad variable fails the cold start, naming it), creates the
DynamoDB client every route needs and builds the resolver. What only some requests need is
created on first use: the Step Functions client (POST /jobs) and the Powertools idempotency
machinery (requests with an Idempotency-Key). The resolver is deliberately built here rather
than on the first request: deferring it would only move its cost (Powertools event handler,
pydantic models) into the first caller's latency, and would waste what SnapStart or provisioned
concurrency snapshot at init. ``bench/bench_handlers.py`` measures both init and first request.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.api import dependencies
from handlers.api.resolver import build_app
from handlers.shared.observability import logger, metrics, tracer

dependencies.warm_up()
app = build_app(dependencies.settings())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Resolve one API Gateway (REST or HTTP API payload 1.0) proxy event."""
    return app.resolve(event, context)
