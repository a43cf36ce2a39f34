"""Items API in-process against moto: success paths, not-found paths and the stored records."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.handlers.helpers import count_records, stored_item

ITEM_FIELDS = {"id", "name", "description", "tags", "version", "created_at", "updated_at"}


def _create(api: Any, **body: Any) -> Any:
    response = api("POST", "/items", body={"name": "Lamp", **body})
    assert response.status == 201, response.body
    return response


def test_create_returns_the_item_and_its_location_and_stores_it(api: Any, table: Any) -> None:
    response = api("POST", "/items", body={"name": "  Lamp  ", "description": "Desk lamp", "tags": ["home", "light"]})

    assert response.status == 201
    assert set(response.body) == ITEM_FIELDS
    item_id = response.body["id"]
    assert uuid.UUID(item_id).version == 4
    assert response.headers["Location"] == f"/items/{item_id}"
    assert response.body["name"] == "Lamp"
    assert response.body["version"] == 1
    assert response.body["created_at"] == response.body["updated_at"]
    record = stored_item(table, f"ITEM#{item_id}", "ITEM")
    assert record is not None
    assert record["gsi1pk"] == {"S": "ITEM"}
    assert record["gsi1sk"] == {"S": f"{response.body['created_at']}#{item_id}"}
    assert record["tags"] == {"L": [{"S": "home"}, {"S": "light"}]}
    assert record["version"] == {"N": "1"}


def test_get_returns_the_stored_item(api: Any) -> None:
    created = _create(api, tags=["a"]).body

    response = api("GET", f"/items/{created['id']}")

    assert response.status == 200
    assert response.body == created


def test_get_accepts_an_upper_case_uuid(api: Any) -> None:
    created = _create(api).body

    response = api("GET", f"/items/{created['id'].upper()}")

    assert response.status == 200
    assert response.body["id"] == created["id"]


def test_a_well_formed_ulid_is_accepted_as_an_id(api: Any) -> None:
    response = api("GET", "/items/01ARZ3NDEKTSV4RRFFQ69G5FAV")

    assert response.status == 404
    assert response.body["error"]["code"] == "item_not_found"


def test_get_unknown_item_is_404(api: Any) -> None:
    unknown = str(uuid.uuid4())

    response = api("GET", f"/items/{unknown}")

    assert response.status == 404
    assert response.body["error"]["code"] == "item_not_found"
    assert unknown in response.body["error"]["message"]


def test_update_bumps_the_version_and_replaces_the_fields(api: Any, table: Any) -> None:
    created = _create(api, description="old", tags=["a"]).body

    response = api("PUT", f"/items/{created['id']}", body={"name": "Desk lamp", "tags": ["b", "c"], "version": 1})

    assert response.status == 200
    assert response.body["version"] == 2
    assert response.body["name"] == "Desk lamp"
    assert response.body["tags"] == ["b", "c"]
    assert response.body["description"] is None, "PUT replaces: an omitted description is cleared"
    assert response.body["created_at"] == created["created_at"]
    assert response.body["updated_at"] > created["updated_at"]
    record = stored_item(table, f"ITEM#{created['id']}", "ITEM")
    assert record is not None and record["version"] == {"N": "2"} and "description" not in record


def test_update_with_a_stale_version_is_409_and_changes_nothing(api: Any, table: Any) -> None:
    created = _create(api).body
    assert api("PUT", f"/items/{created['id']}", body={"name": "v2", "version": 1}).status == 200

    response = api("PUT", f"/items/{created['id']}", body={"name": "stale", "version": 1})

    assert response.status == 409
    assert response.body["error"]["code"] == "version_conflict"
    assert "version 2" in response.body["error"]["message"]
    record = stored_item(table, f"ITEM#{created['id']}", "ITEM")
    assert record is not None and record["name"] == {"S": "v2"}


def test_update_unknown_item_is_404(api: Any, table: Any) -> None:
    response = api("PUT", f"/items/{uuid.uuid4()}", body={"name": "x", "version": 1})

    assert response.status == 404
    assert response.body["error"]["code"] == "item_not_found"
    assert count_records(table, "ITEM#") == 0, "a conditional update never creates an item"


def test_delete_removes_the_item_then_404(api: Any, table: Any) -> None:
    created = _create(api).body

    first = api("DELETE", f"/items/{created['id']}")
    second = api("DELETE", f"/items/{created['id']}")

    assert first.status == 204
    assert first.body is None
    assert stored_item(table, f"ITEM#{created['id']}", "ITEM") is None
    assert second.status == 404
    assert second.body["error"]["code"] == "item_not_found"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("bad_id", ["nope", "123", "0b0a1c4e1d2f4a3b8c4d5e6f7a8b9c0d", "ITEM%23x", "a'b", "%00"])
def test_malformed_id_is_400_without_any_database_call(api: Any, inject_fault: Any, method: str, bad_id: str) -> None:
    fault = inject_fault("dynamodb", "NoSuchOperation", RuntimeError("unused"))
    body = {"name": "x", "version": 1} if method == "PUT" else None

    response = api(method, f"/items/{bad_id}", body=body)

    assert response.status == 400
    assert response.body["error"]["code"] == "invalid_id"
    assert fault.calls == []


def test_http_api_payload_v1_events_are_served_the_same(api: Any) -> None:
    created = api("POST", "/items", body={"name": "via HTTP API"}, http_api=True)
    fetched = api("GET", f"/items/{created.body['id']}", http_api=True)

    assert created.status == 201
    assert created.headers["Location"] == f"/items/{created.body['id']}"
    assert fetched.status == 200
    assert fetched.body["name"] == "via HTTP API"


def test_items_live_in_the_configured_table(api: Any, table: Any) -> None:
    _create(api)

    assert count_records(table, "ITEM#") == 1
