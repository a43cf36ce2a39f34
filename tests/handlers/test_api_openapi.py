"""The OpenAPI document: printed by ``python -m handlers.api.openapi``, every route documented."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from handlers.api.routes_table import REQUEST_SCHEMAS, ROUTES
from tests.handlers.helpers import REPO_ROOT


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The document as the command prints it (no AWS environment needed)."""
    result = subprocess.run(
        [sys.executable, "-m", "handlers.api.openapi"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)},
    )
    return dict(json.loads(result.stdout))


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
        schema = _resolve(document, response["content"]["application/json"]["schema"])
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
