"""Black box: malformed requests of every kind never produce a 5xx, and errors keep their shape."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
SEGMENTS = st.sampled_from(["items", "jobs", "health", "", "Items", "..", "items%2F", "%00"]) | st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/"), max_size=40
)
PATHS = st.lists(SEGMENTS, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=15,
)
BODIES = (
    st.none()
    | st.text(max_size=300)
    | JSON.map(json.dumps)
    | st.fixed_dictionaries(
        {},
        optional={
            "name": JSON,
            "description": JSON,
            "tags": JSON,
            "version": JSON,
            "payload": JSON,
            "extra": JSON,
        },
    ).map(json.dumps)
)
HEADER_TEXT = st.text(alphabet=st.characters(codec="ascii", exclude_categories=("Cc",)), max_size=300)
MEDIA_TYPES = st.sampled_from([
    "application/json", "APPLICATION/JSON; charset=utf-8", "text/plain", "multipart/form-data",
    "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/xml",
    "application/merge-patch+json", "", ";",
])
HEADERS = st.dictionaries(
    st.sampled_from(["Content-Type", "Idempotency-Key", "Origin", "Accept", "X-Custom"]), HEADER_TEXT, max_size=3
) | st.fixed_dictionaries({"Content-Type": MEDIA_TYPES | HEADER_TEXT})
BINARY_BODIES = st.none() | st.binary(max_size=200)
QUERIES = st.none() | st.dictionaries(st.sampled_from(["limit", "cursor", "x"]), st.text(max_size=300), max_size=3)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=METHODS, path=PATHS, body=BODIES, binary=BINARY_BODIES, headers=HEADERS, query=QUERIES)
def test_no_malformed_request_causes_a_server_error(
    api: Any, method: str, path: str, body: str | None, binary: bytes | None, headers: dict[str, str],
    query: dict[str, str] | None
) -> None:
    response = api(method, path, raw_body=body, binary_body=binary, headers=headers, query=query)

    assert response.status < 500, (method, path, body, response.body)
    if response.status >= 400:
        assert set(response.body) == {"error"}
        assert response.body["error"]["code"].replace("_", "").isalpha()
        assert response.body["error"]["code"] == response.body["error"]["code"].lower()
        assert response.body["error"]["message"]
        assert response.body["error"]["request_id"]


BODY_ROUTES = st.sampled_from([("POST", "/items"), ("PUT", "/items/0b0a1c4e-1d2f-4a3b-8c4d-5e6f7a8b9c0d"),
                               ("POST", "/jobs")])


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=BODY_ROUTES, body=BODIES, binary=BINARY_BODIES, headers=HEADERS)
def test_no_body_of_any_media_type_causes_a_server_error(
    api: Any, route: tuple[str, str], body: str | None, binary: bytes | None, headers: dict[str, str]
) -> None:
    method, path = route
    response = api(method, path, raw_body=body, binary_body=binary, headers=headers)

    assert response.status < 500, (method, path, body, binary, headers, response.body)
    if response.status >= 400:
        assert set(response.body) == {"error"} and response.body["error"]["request_id"]
