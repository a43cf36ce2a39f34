"""Error contract: every error is {"error": {code, message, request_id}}; statuses per cause."""

from __future__ import annotations

import base64
import importlib
import json
from typing import Any

import pytest

from handlers.api.logic import items as items_logic
from handlers.api.resolver import build_app
from handlers.shared.settings import ApiEnvironment, load_settings
from tests.handlers.helpers import count_records, make_api_event


def _assert_error_shape(body: Any, code: str) -> None:
    assert set(body) == {"error"}
    assert {"code", "message", "request_id"} <= set(body["error"])
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_malformed_json_is_400(api: Any) -> None:
    response = api("POST", "/items", raw_body='{"name": "Lamp",', request_id="req-1")

    assert response.status == 400
    _assert_error_shape(response.body, "invalid_json")
    assert response.body["error"]["request_id"] == "req-1"


def test_schema_violations_are_422_listing_each_field(api: Any) -> None:
    response = api("POST", "/items", body={"name": "", "tags": ["a", "a"], "color": "red"})

    assert response.status == 422
    _assert_error_shape(response.body, "validation_error")
    fields = {detail["field"] for detail in response.body["error"]["details"]}
    assert fields == {"body.name", "body.tags", "body.color"}
    assert "body.name" in response.body["error"]["message"]


def test_unknown_route_is_404(api: Any) -> None:
    response = api("GET", "/widgets")

    assert response.status == 404
    _assert_error_shape(response.body, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/items", "GET, POST"),
        ("DELETE", "/items", "GET, POST"),
        ("POST", "/items/0b0a1c4e-1d2f-4a3b-8c4d-5e6f7a8b9c0d", "DELETE, GET, PUT"),
        ("PUT", "/jobs/0b0a1c4e-1d2f-4a3b-8c4d-5e6f7a8b9c0d", "GET"),
        ("POST", "/health", "GET"),
    ],
)
def test_wrong_method_is_405_with_allow(api: Any, method: str, path: str, allowed: str) -> None:
    response = api(method, path)

    assert response.status == 405
    _assert_error_shape(response.body, "method_not_allowed")
    assert response.headers["Allow"] == allowed


BODY_ROUTES = [("POST", "/items"), ("PUT", "/items/0b0a1c4e-1d2f-4a3b-8c4d-5e6f7a8b9c0d"), ("POST", "/jobs")]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "multipart/form-data",  # no boundary: Powertools' own parser fails on it with an internal error
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "application/xml",
        "application/merge-patch+json",  # other semantics than a full replacement
    ],
)
def test_non_json_content_type_is_415_and_writes_nothing(api: Any, table: Any, method: str, path: str,
                                                         content_type: str) -> None:
    body = '{"name": "Lamp", "version": 1, "type": "report", "payload": {}}'
    response = api(method, path, raw_body=body, headers={"Content-Type": content_type})

    assert response.status == 415
    _assert_error_shape(response.body, "unsupported_media_type")
    assert response.body["error"]["message"] == (
        f"Content-Type {content_type!r} is not supported; send the body as application/json")
    assert count_records(table, "") == 0


def test_a_refused_media_type_outranks_other_request_errors(api: Any, table: Any) -> None:
    # Given a form body the validation could parse, and an Idempotency-Key longer than allowed
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": "k" * 1000}

    # When it is posted
    response = api("POST", "/items", raw_body="name=Lamp", headers=headers)

    # Then the body's media type is what the client hears about, and nothing is written
    assert response.status == 415
    _assert_error_shape(response.body, "unsupported_media_type")
    assert count_records(table, "") == 0


def test_a_json_media_type_is_read_without_changing_the_callers_event(api_event: Any, table: Any,
                                                                     lambda_context: Any) -> None:
    event = api_event("POST", "/items", raw_body='{"name": "Lamp"}', headers={"Content-Type": "Application/JSON"})
    original = json.loads(json.dumps(event))

    response = importlib.import_module("handlers.api.app").lambda_handler(event, lambda_context)

    assert response["statusCode"] == 201, response["body"]
    assert event == original


def test_the_refused_content_type_is_shortened_in_the_message(api: Any) -> None:
    content_type = "text/plain; " + "x" * 500

    response = api("POST", "/items", raw_body="{}", headers={"Content-Type": content_type})

    assert response.status == 415
    assert content_type[:100] in response.body["error"]["message"]
    assert content_type[:101] not in response.body["error"]["message"]


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "APPLICATION/JSON", " Application/Json ;charset=UTF-8", None])
def test_json_media_types_are_accepted_case_insensitively(api_event: Any, table: Any, lambda_context: Any,
                                                          content_type: str | None) -> None:
    event = api_event("POST", "/items", raw_body='{"name": "Lamp"}')
    for headers in (event["headers"], event["multiValueHeaders"]):
        del headers["Content-Type"]  # None: a request without Content-Type is read as JSON
        if content_type is not None:
            headers["Content-Type"] = content_type if headers is event["headers"] else [content_type]

    response = importlib.import_module("handlers.api.app").lambda_handler(event, lambda_context)

    assert response["statusCode"] == 201, response["body"]
    assert json.loads(response["body"])["name"] == "Lamp"
    assert count_records(table, "ITEM#") == 1


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
@pytest.mark.parametrize("encoded_body", [
    base64.b64encode(b"\xd4\x0e\x0f\xff{").decode(),  # bytes that are not UTF-8
    "not base64 at all!",
])
def test_a_body_that_is_not_utf8_text_is_400_invalid_json(api_event: Any, table: Any, lambda_context: Any,
                                                          method: str, path: str, encoded_body: str) -> None:
    event = api_event(method, path, raw_body="{}")
    event["body"], event["isBase64Encoded"] = encoded_body, True

    response = importlib.import_module("handlers.api.app").lambda_handler(event, lambda_context)

    assert response["statusCode"] == 400, response["body"]
    body = json.loads(response["body"])
    _assert_error_shape(body, "invalid_json")
    assert body["error"]["message"] == "Request body is not valid JSON: the body is not UTF-8 text"
    assert count_records(table, "") == 0


def test_an_http_api_event_with_a_form_body_is_415(api_event: Any, table: Any, lambda_context: Any) -> None:
    event = api_event("POST", "/items", raw_body="name=Lamp",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, http_api=True)

    response = importlib.import_module("handlers.api.app").lambda_handler(event, lambda_context)

    assert response["statusCode"] == 415
    assert json.loads(response["body"])["error"]["code"] == "unsupported_media_type"
    assert count_records(table, "") == 0


def test_unexpected_error_is_a_generic_500(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail: arn:aws:dynamodb:us-east-1:123456789012:table/x")

    monkeypatch.setattr(items_logic, "get_item", explode)

    response = api("GET", "/items/0b0a1c4e-1d2f-4a3b-8c4d-5e6f7a8b9c0d")

    assert response.status == 500
    _assert_error_shape(response.body, "internal_error")
    assert "secret" not in response.raw["body"] and "arn:aws" not in response.raw["body"]


def test_request_id_falls_back_to_the_lambda_request_id(api: Any, table: Any, lambda_context: Any) -> None:
    module = importlib.import_module("handlers.api.app")
    event = make_api_event("GET", "/nowhere")
    del event["requestContext"]["requestId"]

    response = module.lambda_handler(event, lambda_context)

    assert json.loads(response["body"])["error"]["request_id"] == lambda_context.aws_request_id


def test_no_cors_headers_by_default(api: Any) -> None:
    response = api("GET", "/health", headers={"Origin": "https://app.example.com"})

    assert response.status == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_for_configured_origins(table: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://app.example.com,https://admin.example.com")
    app = build_app(load_settings(ApiEnvironment))

    allowed = app.resolve(
        make_api_event("GET", "/health", headers={"Origin": "https://admin.example.com"}), lambda_context
    )
    foreign = app.resolve(make_api_event("GET", "/health", headers={"Origin": "https://evil.example"}), lambda_context)
    preflight = app.resolve(
        make_api_event("OPTIONS", "/items", headers={"Origin": "https://app.example.com"}), lambda_context
    )

    assert allowed["multiValueHeaders"]["Access-Control-Allow-Origin"] == ["https://admin.example.com"]
    assert "Location" in allowed["multiValueHeaders"]["Access-Control-Expose-Headers"][0]
    assert "Access-Control-Allow-Origin" not in foreign["multiValueHeaders"]
    assert preflight["statusCode"] == 204
    assert "Idempotency-Key" in preflight["multiValueHeaders"]["Access-Control-Allow-Headers"][0]
