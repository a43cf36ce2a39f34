"""The one builder of API Gateway proxy events, and the three places that use it."""

from __future__ import annotations

from modules.catalog import HEALTH_CHECK
from modules.proxy_event import proxy_event

CORE_KEYS = {"resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
             "multiValueQueryStringParameters", "pathParameters", "stageVariables", "body", "isBase64Encoded",
             "requestContext"}


def test_repeated_headers_and_query_parameters_keep_every_value_and_the_last_as_single() -> None:
    event = proxy_event("GET", "/items/a%2Fb", resource="/items/{id}", path_parameters={"id": "a/b"},
                        headers=[("Accept", "text/plain"), ("Accept", "application/json"), ("user-agent", "curl")],
                        query=[("tag", "x"), ("tag", "y"), ("limit", "5")], stage="local", request_id="r-1",
                        source_ip="127.0.0.1")

    assert set(event) == CORE_KEYS
    assert event["headers"] == {"Accept": "application/json", "user-agent": "curl"}
    assert event["multiValueHeaders"] == {"Accept": ["text/plain", "application/json"], "user-agent": ["curl"]}
    assert event["queryStringParameters"] == {"tag": "y", "limit": "5"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["x", "y"], "limit": ["5"]}
    assert (event["resource"], event["pathParameters"]) == ("/items/{id}", {"id": "a/b"})
    assert event["requestContext"] == {
        "resourcePath": "/items/{id}", "httpMethod": "GET", "path": "/local/items/a%2Fb", "stage": "local",
        "requestId": "r-1", "identity": {"sourceIp": "127.0.0.1", "userAgent": "curl"}}


def test_what_is_absent_is_null_as_api_gateway_sends_it() -> None:
    event = proxy_event("POST", "/jobs", stage="prod", request_id="r-2", source_ip="203.0.113.10",
                        body="eyJhIjogMX0=", is_base64_encoded=True)

    assert {key: event[key] for key in ("headers", "multiValueHeaders", "queryStringParameters",
                                         "multiValueQueryStringParameters", "pathParameters", "stageVariables")} \
        == dict.fromkeys(("headers", "multiValueHeaders", "queryStringParameters", "multiValueQueryStringParameters",
                          "pathParameters", "stageVariables"))
    assert (event["resource"], event["body"], event["isBase64Encoded"]) == ("/jobs", "eyJhIjogMX0=", True)
    assert event["requestContext"]["identity"]["userAgent"] is None


def test_callers_add_request_context_and_identity_fields() -> None:
    event = proxy_event("GET", "/health", stage="prod", request_id="r-3", source_ip="10.0.0.1",
                        request_context={"apiId": "abc123"}, identity={"apiKeyId": "key-1"}, context_path="/health")

    assert event["requestContext"]["apiId"] == "abc123" and event["requestContext"]["path"] == "/health"
    assert event["requestContext"]["identity"] == {"sourceIp": "10.0.0.1", "userAgent": None, "apiKeyId": "key-1"}


def test_the_health_smoke_check_event_is_the_one_the_hook_has_always_been_given() -> None:
    # Deployed in the pre-traffic hook's SMOKE_CHECKS variable: a change here is a change of every stack.
    assert dict(HEALTH_CHECK.event) == {
        "resource": "/health", "path": "/health", "httpMethod": "GET",
        "headers": {"Accept": "application/json", "User-Agent": "pre-traffic-hook"},
        "multiValueHeaders": {"Accept": ["application/json"], "User-Agent": ["pre-traffic-hook"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
        "stageVariables": None, "body": None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": "/health", "httpMethod": "GET", "path": "/health", "stage": "live",
                           "requestId": "pre-traffic-hook", "identity": {"sourceIp": "127.0.0.1",
                                                                         "userAgent": "pre-traffic-hook"}},
    }
