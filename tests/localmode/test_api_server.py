"""The local API Gateway: proxy events in, proxy responses out, API key enforced except on /health."""

from __future__ import annotations

import base64
import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from localmode import runtime
from localmode.api_server import ApiServer, Gateway, InvocationFailed, RouteTable
from localmode.runtime import LocalApi
from tests.localmode.conftest import REGION, Deployment

ROUTES = RouteTable([("GET", "/health"), ("GET", "/items"), ("GET", "/items/{id}"), ("PUT", "/items/{id}"),
                     ("GET", "/files/{proxy+}")], public=[("GET", "/health")])
KEY = "secret-key"


def gateway(invoke: Any = None) -> Gateway:
    return Gateway(invoke=invoke or (lambda event: {"statusCode": 200, "body": ""}), routes=ROUTES, api_key=KEY)


def event_for(method: str, target: str, headers: list[tuple[str, str]] | None = None,
              body: bytes = b"") -> tuple[dict[str, Any], bool]:
    sent = [("x-api-key", KEY)] if headers is None else headers
    return gateway().event(method, target, sent, body, "10.0.0.7")


# --- events -------------------------------------------------------------------------------------------------


def test_the_event_names_the_matched_route_and_its_path_parameters() -> None:
    event, authorized = event_for("PUT", "/items/a%2Fb%20c?x=1")

    assert authorized is True
    assert event["resource"] == event["requestContext"]["resourcePath"] == "/items/{id}"
    assert event["path"] == "/items/a/b c"
    assert event["httpMethod"] == event["requestContext"]["httpMethod"] == "PUT"
    assert event["pathParameters"] == {"id": "a/b c"}
    assert event["requestContext"]["stage"] == "local"
    assert event["requestContext"]["identity"]["sourceIp"] == "10.0.0.7"
    assert event["requestContext"]["identity"]["apiKey"] == KEY
    assert event["requestContext"]["identity"]["apiKeyId"]
    assert event["requestContext"]["requestId"]


def test_static_routes_win_and_greedy_parameters_take_the_rest() -> None:
    assert ROUTES.match("/items") == ("/items", {})
    assert ROUTES.match("/files/a/b.txt") == ("/files/{proxy+}", {"proxy": "a/b.txt"})
    assert ROUTES.match("/items/a/b") is None


def test_query_strings_keep_every_value_and_the_last_one_wins_in_the_single_map() -> None:
    event, _ = event_for("GET", "/items?limit=5&tag=a&tag=b&empty=")

    assert event["queryStringParameters"] == {"limit": "5", "tag": "b", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"limit": ["5"], "tag": ["a", "b"], "empty": [""]}


def test_absent_parts_are_null_as_api_gateway_sends_them() -> None:
    event, _ = event_for("GET", "/items")

    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


def test_repeated_headers_are_all_in_multi_value_headers() -> None:
    event, _ = event_for("GET", "/items", [("x-api-key", KEY), ("Accept", "a/b"), ("Accept", "c/d")])

    assert event["headers"]["Accept"] == "c/d"
    assert event["multiValueHeaders"]["Accept"] == ["a/b", "c/d"]


def test_a_binary_body_is_base64_encoded_and_text_is_not() -> None:
    binary, _ = event_for("PUT", "/items/1", body=b"\xff\x00\xfe")
    text, _ = event_for("PUT", "/items/1", body='{"name": "é"}'.encode())

    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\xff\x00\xfe"
    assert text["isBase64Encoded"] is False and text["body"] == '{"name": "é"}'


@pytest.mark.parametrize(
    ("method", "target", "headers", "authorized"),
    [
        ("GET", "/health", [], True),
        ("GET", "/items", [], False),
        ("GET", "/items", [("X-Api-Key", "wrong")], False),
        ("GET", "/items", [("X-Api-Key", KEY)], True),
        ("POST", "/health", [], False),  # only GET /health is public
        ("GET", "/unknown", [], False),
        ("OPTIONS", "/items/1", [], True),  # CORS preflights carry no key
        ("OPTIONS", "/unknown", [], False),
    ],
)
def test_the_api_key_is_required_except_on_public_routes(method: str, target: str,
                                                         headers: list[tuple[str, str]], authorized: bool) -> None:
    assert event_for(method, target, headers)[1] is authorized


# --- HTTP ---------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_server() -> Iterator[tuple[ApiServer, list[dict[str, Any]]]]:
    """An API server whose function answers with a canned response and records its events."""
    events: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        events.append(event)
        if event["path"] == "/items/crash":
            raise InvocationFailed('{"errorType": "KeyError"}')
        return {"statusCode": 207, "headers": {"X-Single": "one", "Content-Type": "image/png"},
                "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
                "body": base64.b64encode(b"\x89PNG").decode(), "isBase64Encoded": True}

    server = ApiServer(gateway(invoke), port=0).start()
    yield server, events
    server.stop()


def raw_request(server: ApiServer, method: str, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(str(host), int(port), timeout=10)
    connection.request(method, path, headers=headers)
    return connection.getresponse()


def test_the_function_response_is_returned_as_it_is(fake_server: tuple[ApiServer, list[dict[str, Any]]]) -> None:
    server, _ = fake_server

    response = raw_request(server, "GET", "/items/1", {"x-api-key": KEY})

    assert response.status == 207
    assert response.getheader("X-Single") == "one"
    assert response.getheader("Content-Type") == "image/png"
    assert response.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert response.read() == b"\x89PNG"


def test_responses_go_out_without_waiting_for_the_clients_ack(
        fake_server: tuple[ApiServer, list[dict[str, Any]]]) -> None:
    """Headers and body are two writes: on a kept-alive connection Nagle's algorithm held the body
    back until the client's delayed ACK (about 40 ms a response), so every connection has TCP_NODELAY."""
    server, _ = fake_server
    options: list[int] = []

    class Probe(server.RequestHandlerClass):  # type: ignore[name-defined, misc]
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            options.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            super().do_GET()

    server.RequestHandlerClass = Probe
    with requests.Session() as session:  # one kept-alive connection for both requests
        for _ in range(2):
            assert session.get(f"{server.url}/items/1", headers={"x-api-key": KEY}).status_code == 207
    assert len(options) == 2 and all(options), options


def test_a_forbidden_request_never_reaches_the_function(fake_server: tuple[ApiServer, list[dict[str, Any]]]) -> None:
    server, events = fake_server

    response = raw_request(server, "GET", "/items/1", {})

    assert response.status == 403
    assert json.loads(response.read()) == {"message": "Forbidden"}
    assert events == []


def test_a_function_error_is_a_bad_gateway(fake_server: tuple[ApiServer, list[dict[str, Any]]]) -> None:
    server, _ = fake_server

    response = raw_request(server, "GET", "/items/crash", {"x-api-key": KEY})

    assert response.status == 502
    assert json.loads(response.read()) == {"message": "Internal server error"}


# --- the deployed api function ------------------------------------------------------------------------------


def test_start_finds_the_deployed_function_and_key(local_api: LocalApi, deployment: Deployment) -> None:
    keys = deployment.client("apigateway").get_api_keys(includeValues=True)["items"]

    assert local_api.function_name == "serverless-app-local-api"
    assert local_api.api_key == keys[0]["value"]


def test_start_reports_what_is_not_deployed(deployment: Deployment) -> None:
    with pytest.raises(runtime.NotDeployed, match="other-local-api"):
        runtime.start(deployment.endpoint, api_port=0, region=REGION, project="other")


def test_health_is_served_without_a_key(local_api: LocalApi) -> None:
    response = requests.get(f"{local_api.url}/health", timeout=30)

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_a_missing_key_gets_the_deployed_gateway_answer(local_api: LocalApi) -> None:
    response = requests.get(f"{local_api.url}/items", timeout=30)

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden"
    assert error["request_id"] == response.headers["x-amzn-RequestId"]


def test_query_strings_and_path_parameters_reach_the_handler(local_api: LocalApi) -> None:
    headers = local_api.headers
    created = [requests.post(f"{local_api.url}/items", json={"name": f"page-{n}"}, headers=headers,
                             timeout=30).json() for n in range(2)]

    page = requests.get(f"{local_api.url}/items", params={"limit": "1"}, headers=headers, timeout=30)
    one = requests.get(f"{local_api.url}/items/{created[0]['id']}", headers=headers, timeout=30)
    invalid = requests.get(f"{local_api.url}/items", params={"limit": "0"}, headers=headers, timeout=30)

    assert page.status_code == 200
    assert len(page.json()["items"]) == 1 and page.json()["next_cursor"]
    assert one.status_code == 200 and one.json()["name"] == "page-0"
    assert invalid.status_code == 422 and "limit" in invalid.text


def test_unknown_paths_reach_the_handler_for_its_own_404(local_api: LocalApi) -> None:
    response = requests.get(f"{local_api.url}/nothing/here", headers=local_api.headers, timeout=30)

    assert response.status_code == 404
    assert "error" in response.json()


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "QUERY", "PROPFIND"])
def test_any_method_reaches_the_function_instead_of_a_501(fake_server: tuple[ApiServer, list[dict[str, Any]]],
                                                           method: str) -> None:
    server, events = fake_server

    response = raw_request(server, method, "/items/0", {"x-api-key": KEY})

    assert response.status == 207
    assert events[-1]["httpMethod"] == method
