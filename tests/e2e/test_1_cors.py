"""CORS preflights against local mode answer what the synthesized REST API defines: for every
OPTIONS integration response Terraform deployed, the same status and static headers."""

from __future__ import annotations

import json

import pytest
import requests

pytestmark = pytest.mark.e2e


def synthesized_preflights(local_backend) -> dict[str, dict[str, str]]:
    """Resource path -> the CORS headers of its OPTIONS integration response, from local-app's cdk.tf.json."""
    stack = json.loads((local_backend.deployer.outdir / "stacks" / "local-app" / "cdk.tf.json").read_text())
    resources = stack["resource"]
    paths = {}
    for key, resource in resources["aws_api_gateway_resource"].items():
        paths[f"${{aws_api_gateway_resource.{key}.id}}"] = resource
    methods = resources["aws_api_gateway_method"]

    def method_of(reference: str) -> str:  # "${aws_api_gateway_method.<key>.http_method}"
        return methods[reference.split(".")[1]]["http_method"] if reference.startswith("${") else reference

    found = {}
    for response in resources["aws_api_gateway_integration_response"].values():
        if method_of(response["http_method"]) != "OPTIONS":
            continue
        path, parent = [], paths.get(response["resource_id"])
        while parent is not None:
            path.insert(0, parent["path_part"])
            parent = paths.get(parent["parent_id"])
        found["/" + "/".join(path)] = {name.removeprefix("method.response.header."): value.strip("'")
                                       for name, value in response["response_parameters"].items()}
    return found


def test_every_preflight_gets_the_deployed_headers_without_a_key(local_backend):
    preflights = synthesized_preflights(local_backend)
    assert "/items" in preflights and "/items/{id}" in preflights
    for path, headers in preflights.items():
        concrete = path.replace("{id}", "an-id").replace("{proxy+}", "a/b")
        response = requests.options(f"{local_backend.url}{concrete}", timeout=30, headers={
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
        assert response.status_code == 200, path
        for name, value in headers.items():
            assert response.headers.get(name) == value, (path, name)
