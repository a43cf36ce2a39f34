"""Print the OpenAPI document of the API: ``python -m handlers.api.openapi [--kind rest|http]``.

One document per API kind, each saying exactly what that kind serves: its authentication (an API
key for REST, SigV4 for HTTP) and what its gateway answers on its own (handlers/api/gateway_answers.py)
besides the function's routes. Needs no AWS access and no environment: placeholder settings are used,
since the document does not depend on them.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from handlers.api.gateway_answers import ANSWERS, SECURITY_SCHEMES, WAF_REFUSALS, GatewayAnswer
from handlers.api.resolver import build_app
from handlers.api.routes_table import PUBLIC_ROUTES
from handlers.shared.settings import ApiEnvironment

TITLE = "Items and Jobs API"
VERSION = "1.0.0"
KINDS = ("rest", "http")
DESCRIPTION = {
    "rest": "Items with optimistic concurrency and background jobs. Every route but GET /health needs an "
            "API key (x-api-key). Errors: {'error': {'code', 'message', 'request_id'}}, from the function and "
            "from the API gateway alike. Where the API has a web ACL (prod), requests with the features listed in "
            "x-waf-refusals are answered 403 request_refused.",
    "http": "Items with optimistic concurrency and background jobs (HTTP API kind). Every route but GET /health "
            "needs a SigV4 signature (IAM authorization; no API keys). The function's errors are "
            "{'error': {'code', 'message', 'request_id'}}; what the HTTP API answers on its own (unsigned, "
            "throttled, failed invocation) is {'message'}: HTTP APIs cannot customize those answers.",
}
GATEWAY_MESSAGE_SCHEMA = {"title": "GatewayMessage", "type": "object", "required": ["message"],
                          "properties": {"message": {"type": "string"}}}

_PLACEHOLDER_SETTINGS = ApiEnvironment.model_validate(
    {
        "POWERTOOLS_SERVICE_NAME": "api",
        "POWERTOOLS_METRICS_NAMESPACE": "openapi",
        "TABLE_NAME": "placeholder",
        "IDEMPOTENCY_TABLE_NAME": "placeholder",
        "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:000000000000:stateMachine:placeholder",
    }
)


def _add_answer(operation: dict[str, Any], answer: GatewayAnswer) -> None:
    """Document one gateway answer on an operation, next to the function's for that status."""
    schema = ({"$ref": "#/components/schemas/ErrorOut"} if answer.code
              else {"$ref": "#/components/schemas/GatewayMessage"})
    text = f"{answer.code}: {answer.description}" if answer.code else answer.description
    responses = operation.setdefault("responses", {})
    status = str(answer.status)
    if status not in responses:
        responses[status] = {"description": f"{text} (API gateway)",
                             "content": {"application/json": {"schema": schema}}}
    else:
        response = responses[status]
        response["description"] += f"; or {text} (API gateway)"
        body = response.setdefault("content", {}).setdefault("application/json", {})
        current = body.get("schema")
        shapes = (current.get("anyOf") or [current]) if current else []
        if schema not in shapes:  # two shapes for one status: either may come
            body["schema"] = {"anyOf": [*shapes, schema]} if shapes else schema
    if answer.retry_after:
        responses[status].setdefault("headers", {})["Retry-After"] = {
            "description": "seconds to wait before retrying", "schema": {"type": "integer"}}


def openapi_document(kind: str = "rest", app: APIGatewayRestResolver | None = None) -> dict[str, Any]:
    """The OpenAPI document of one API kind."""
    if kind not in KINDS:
        raise ValueError(f"API kind {kind!r}; allowed: {', '.join(KINDS)}")
    resolver = app or build_app(_PLACEHOLDER_SETTINGS)
    document: dict[str, Any] = json.loads(resolver.get_openapi_json_schema(
        title=TITLE, version=VERSION, description=DESCRIPTION[kind]))
    components = document.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES[kind]
    if kind == "http":
        components.setdefault("schemas", {})["GatewayMessage"] = GATEWAY_MESSAGE_SCHEMA
    else:
        document["x-waf-refusals"] = list(WAF_REFUSALS)
    [scheme] = SECURITY_SCHEMES[kind]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            public = (method.upper(), path) in PUBLIC_ROUTES
            operation["security"] = [] if public else [{scheme: []}]
            for answer in ANSWERS[kind]:
                if answer.public_routes or not public:
                    _add_answer(operation, answer)
    return document


def openapi_json(app: APIGatewayRestResolver | None = None, kind: str = "rest") -> str:
    """Return the OpenAPI document of one API kind as JSON text."""
    return json.dumps(openapi_document(kind, app), indent=2)


def main(argv: list[str] | None = None) -> int:
    """Write the document to stdout."""
    parser = argparse.ArgumentParser(prog="python -m handlers.api.openapi", description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=KINDS, default="rest", help="the API kind the document describes")
    args = parser.parse_args(argv)
    sys.stdout.write(openapi_json(kind=args.kind) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
