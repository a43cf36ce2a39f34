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
HEADERS = st.dictionaries(
    st.sampled_from(["Content-Type", "Idempotency-Key", "Origin", "Accept", "X-Custom"]),
    st.text(alphabet=st.characters(codec="ascii", exclude_categories=("Cc",)), max_size=300),
    max_size=3,
)
QUERIES = st.none() | st.dictionaries(st.sampled_from(["limit", "cursor", "x"]), st.text(max_size=300), max_size=3)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=METHODS, path=PATHS, body=BODIES, headers=HEADERS, query=QUERIES)
def test_no_malformed_request_causes_a_server_error(
    api: Any, method: str, path: str, body: str | None, headers: dict[str, str], query: dict[str, str] | None
) -> None:
    response = api(method, path, raw_body=body, headers=headers, query=query)

    assert response.status < 500, (method, path, body, response.body)
    if response.status >= 400:
        assert set(response.body) == {"error"}
        assert response.body["error"]["code"].replace("_", "").isalpha()
        assert response.body["error"]["code"] == response.body["error"]["code"].lower()
        assert response.body["error"]["message"]
        assert response.body["error"]["request_id"]
