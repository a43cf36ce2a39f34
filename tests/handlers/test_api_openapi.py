"""The OpenAPI document: printed by ``python -m handlers.api.openapi``, every route documented."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from handlers.api.routes_table import PUBLIC_ROUTES, REQUEST_SCHEMAS, ROUTES
from tests.handlers.helpers import REPO_ROOT


def _printed(*args: str) -> dict[str, Any]:
    """The document as the command prints it (no AWS environment needed)."""
    result = subprocess.run(
        [sys.executable, "-m", "handlers.api.openapi", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)},
    )
    return dict(json.loads(result.stdout))


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return _printed()


@pytest.fixture(scope="module")
def http_document() -> dict[str, Any]:
    return _printed("--kind", "http")


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return dict(document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]])
    return schema


def test_title_and_version(document: dict[str, Any]) -> None:
    assert document["info"]["title"] == "Items and Jobs API"
    assert document["info"]["version"] == "1.0.0"
    assert document["openapi"].startswith("3.")


def test_documented_routes_are_exactly_the_route_table(document: dict[str, Any]) -> None:
    documented = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}

    assert documented == set(ROUTES)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_has_response_schemas(document: dict[str, Any], method: str, path: str) -> None:
    operation = document["paths"][path][method.lower()]
    success = [code for code in operation["responses"] if code.startswith("2")]

    assert success, "a success response is documented"
    for code, response in operation["responses"].items():
        if code == "204":
            continue
        declared = response["content"]["application/json"]["schema"]
        for alternative in declared.get("anyOf", [declared]):  # a status the gateway also answers
            schema = _resolve(document, alternative)
            assert schema.get("properties"), f"{method} {path} {code} has a typed body"
            if code.startswith(("4", "5")) and path != "/health":
                assert set(schema["properties"]) == {"error"}


@pytest.mark.parametrize(("method", "path"), sorted(REQUEST_SCHEMAS))
def test_body_routes_document_their_request_schema(document: dict[str, Any], method: str, path: str) -> None:
    operation = document["paths"][path][method.lower()]
    schema = _resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])

    assert operation["requestBody"]["required"] is True
    assert set(schema["properties"]) == set(REQUEST_SCHEMAS[(method, path)]["properties"])
    assert schema.get("additionalProperties") is False


def test_the_routes_that_take_a_body_are_exactly_those_with_a_request_schema(document: dict[str, Any]) -> None:
    # The JSON-only body rule (handlers.api.json_body) applies to the routes of REQUEST_SCHEMAS.
    with_body = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }

    assert with_body == set(REQUEST_SCHEMAS)


def test_error_codes_are_documented_per_route(document: dict[str, Any]) -> None:
    responses = document["paths"]["/items/{id}"]["put"]["responses"]

    assert {"200", "400", "404", "409", "422", "503"} <= set(responses)
    assert "idempotency-key" in {p["name"].lower() for p in document["paths"]["/items"]["post"]["parameters"]}


# --- one document per API kind: authentication and the gateway's own answers -------------

@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_each_kind_documents_its_own_authentication(document: dict[str, Any], http_document: dict[str, Any],
                                                    method: str, path: str) -> None:
    public = (method, path) in PUBLIC_ROUTES
    assert document["paths"][path][method.lower()]["security"] == ([] if public else [{"api_key": []}])
    assert http_document["paths"][path][method.lower()]["security"] == ([] if public else [{"sigv4": []}])
    assert document["components"]["securitySchemes"] == {"api_key": {"type": "apiKey", "in": "header",
                                                                      "name": "x-api-key"}}
    assert http_document["components"]["securitySchemes"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"


def test_rest_documents_the_gateway_answers_in_the_error_shape(document: dict[str, Any]) -> None:
    # A Lambda throttle reaches clients as 500 (AWS returns 500 when Lambda rejects the invocation)
    responses = document["paths"]["/items"]["post"]["responses"]
    assert "service_unavailable: the function could not be invoked" in responses["500"]["description"]
    assert "Retry-After" in responses["500"]["headers"]
    assert {"403", "413", "429", "500", "503", "504"} <= set(responses)
    assert "request_refused" in responses["403"]["description"] and "forbidden" in responses["403"]["description"]
    assert document["x-waf-refusals"] and "http" not in json.dumps(document["components"]["securitySchemes"])


def test_http_documents_the_gateways_own_message_shape(http_document: dict[str, Any]) -> None:
    responses = http_document["paths"]["/items/{id}"]["get"]["responses"]
    assert responses["403"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/GatewayMessage"}
    # The function's 503 and the gateway's: either shape
    assert responses["503"]["content"]["application/json"]["schema"] == {"anyOf": [
        {"$ref": "#/components/schemas/ErrorOut"}, {"$ref": "#/components/schemas/GatewayMessage"}]}
    assert "x-waf-refusals" not in http_document  # HTTP APIs cannot have a web ACL
    # GET /health is public: no 403 for a missing signature
    assert "403" not in http_document["paths"]["/health"]["get"]["responses"]
