"""GET /items: newest first, every item exactly once across pages, strict cursors."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest


def _seed(api: Any, count: int) -> list[str]:
    ids = []
    for index in range(count):
        response = api("POST", "/items", body={"name": f"item {index}"})
        assert response.status == 201
        ids.append(response.body["id"])
    return ids


def _walk(api: Any, limit: int) -> tuple[list[str], list[int]]:
    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    while True:
        query = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        response = api("GET", "/items", query=query)
        assert response.status == 200, response.body
        assert set(response.body) == {"items", "next_cursor"}
        seen.extend(item["id"] for item in response.body["items"])
        sizes.append(len(response.body["items"]))
        cursor = response.body["next_cursor"]
        if cursor is None:
            return seen, sizes


@pytest.mark.parametrize("limit", [1, 3, 7, 25])
def test_pages_cover_every_item_once_newest_first(api: Any, limit: int) -> None:
    created = _seed(api, 13)

    seen, sizes = _walk(api, limit)

    assert seen == list(reversed(created)), "newest first, nothing skipped or repeated"
    assert all(size == limit for size in sizes[:-1])
    assert sizes[-1] > 0, "the last page is never an empty page behind a useless cursor"


def test_default_limit_is_20(api: Any) -> None:
    _seed(api, 22)

    response = api("GET", "/items")

    assert response.status == 200
    assert len(response.body["items"]) == 20
    assert response.body["next_cursor"] is not None


def test_empty_table_lists_nothing(api: Any) -> None:
    response = api("GET", "/items")

    assert response.status == 200
    assert response.body == {"items": [], "next_cursor": None}


def test_items_created_after_a_page_do_not_shift_the_next_page(api: Any) -> None:
    created = _seed(api, 4)
    first = api("GET", "/items", query={"limit": "2"})
    _seed(api, 2)

    second = api("GET", "/items", query={"limit": "2", "cursor": first.body["next_cursor"]})

    assert [item["id"] for item in second.body["items"]] == [created[1], created[0]]


def _tamper(cursor: str) -> str:
    document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    document["i"] = "not-an-id"
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "make_cursor", [lambda c: c[:-3], lambda c: c + "x", _tamper, lambda c: "Zm9v", lambda c: "!!"]
)
def test_tampered_cursor_is_400(api: Any, make_cursor: Any) -> None:
    _seed(api, 3)
    cursor = api("GET", "/items", query={"limit": "1"}).body["next_cursor"]

    response = api("GET", "/items", query={"limit": "1", "cursor": make_cursor(cursor)})

    assert response.status == 400
    assert response.body["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
def test_limit_out_of_range_is_a_validation_error(api: Any, limit: str) -> None:
    response = api("GET", "/items", query={"limit": limit})

    assert response.status == 422
    assert response.body["error"]["code"] == "validation_error"
    assert response.body["error"]["details"][0]["field"] == "query.limit"
