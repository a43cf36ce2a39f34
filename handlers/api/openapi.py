"""Print the OpenAPI document of the API: ``python -m handlers.api.openapi``.

Needs no AWS access and no environment: placeholder settings are used, since the document does not
depend on them.
"""

from __future__ import annotations

import sys

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from handlers.api.resolver import build_app
from handlers.shared.settings import ApiEnvironment

TITLE = "Items and Jobs API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Items with optimistic concurrency and background jobs. Every route but GET /health needs an "
    "API key (x-api-key). Errors: {'error': {'code', 'message', 'request_id'}}."
)

_PLACEHOLDER_SETTINGS = ApiEnvironment.model_validate(
    {
        "POWERTOOLS_SERVICE_NAME": "api",
        "POWERTOOLS_METRICS_NAMESPACE": "openapi",
        "TABLE_NAME": "placeholder",
        "IDEMPOTENCY_TABLE_NAME": "placeholder",
        "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:000000000000:stateMachine:placeholder",
    }
)


def openapi_json(app: APIGatewayRestResolver | None = None) -> str:
    """Return the OpenAPI document as JSON text."""
    resolver = app or build_app(_PLACEHOLDER_SETTINGS)
    return resolver.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION)


def main() -> int:
    """Write the document to stdout."""
    sys.stdout.write(openapi_json() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
