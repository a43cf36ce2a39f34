"""CORS preflights in local mode are answered as the deployed REST API answers them: its OPTIONS
mock integration's status and headers, no key, no function call."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from localmode import runtime
from tests.localmode.conftest import PREFIX, Deployment

ORIGIN = "https://app.example.com"
METHODS = "DELETE,GET,OPTIONS,POST,PUT"
HEADERS = "Content-Type,Idempotency-Key,X-Api-Key,X-Amz-Date,Authorization"


def add_preflight(apigateway: Any, api_id: str, path: str, origin: str) -> None:
    """What Terraform creates per resource: OPTIONS, a MOCK integration, static CORS headers."""
    resources = {r["path"]: r["id"] for r in apigateway.get_resources(restApiId=api_id)["items"]}
    parent = resources["/"]
    current = ""
    for part in path.strip("/").split("/"):
        current += f"/{part}"
        if current not in resources:
            resources[current] = apigateway.create_resource(restApiId=api_id, parentId=parent, pathPart=part)["id"]
        parent = resources[current]
    resource_id = resources[path]
    apigateway.put_method(restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS", type="MOCK",
                               requestTemplates={"application/json": '{"statusCode": 200}'})
    parameters = {"method.response.header.Access-Control-Allow-Headers": f"'{HEADERS}'",
                  "method.response.header.Access-Control-Allow-Methods": f"'{METHODS}'",
                  "method.response.header.Access-Control-Allow-Origin": f"'{origin}'"}
    apigateway.put_method_response(restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS", statusCode="200",
                                   responseParameters=dict.fromkeys(parameters, True))
    apigateway.put_integration_response(restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS",
                                        statusCode="200", responseParameters=parameters)


@pytest.fixture(scope="module")
def cors_api(deployment: Deployment) -> Any:
    """A separate API server whose REST API has preflights on /items and /items/{id}."""
    apigateway = deployment.client("apigateway")
    api_id = next(a["id"] for a in apigateway.get_rest_apis()["items"] if a["name"] == f"{PREFIX}-api")
    add_preflight(apigateway, api_id, "/items", ORIGIN)
    add_preflight(apigateway, api_id, "/items/{id}", ORIGIN)
    api = runtime.start(deployment.endpoint, api_port=0, region="us-west-2", project="serverless-app")
    yield api
    api.stop()



@pytest.mark.parametrize("path", ["/items", "/items/42"])
def test_a_preflight_gets_the_deployed_cors_headers_without_a_key(cors_api: runtime.LocalApi, path: str) -> None:
    response = requests.options(f"{cors_api.url}{path}", timeout=10, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-api-key"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Methods"] == METHODS
    assert response.headers["Access-Control-Allow-Headers"] == HEADERS
    assert response.content == b""


def test_a_preflight_does_not_call_the_function(cors_api: runtime.LocalApi, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    gateway = cors_api.server.gateway
    monkeypatch.setattr(gateway, "invoke", lambda event: calls.append(event) or {"statusCode": 500})
    assert requests.options(f"{cors_api.url}/items", timeout=10).status_code == 200
    assert calls == []


def test_options_on_a_resource_without_a_deployed_preflight_is_not_answered_with_cors(
        cors_api: runtime.LocalApi) -> None:
    response = requests.options(f"{cors_api.url}/jobs", timeout=10, headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_preflights_are_read_from_the_deployed_rest_api(deployment: Deployment,
                                                             cors_api: runtime.LocalApi) -> None:
    apigateway = deployment.client("apigateway")
    api_id = next(a["id"] for a in apigateway.get_rest_apis()["items"] if a["name"] == f"{PREFIX}-api")
    preflights = runtime.read_preflights(apigateway, api_id)
    assert set(preflights) == {"/items", "/items/{id}"}
    status, headers = preflights["/items"]
    assert status == 200
    assert dict(headers) == {"Access-Control-Allow-Headers": HEADERS, "Access-Control-Allow-Methods": METHODS,
                             "Access-Control-Allow-Origin": ORIGIN}
