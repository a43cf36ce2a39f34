"""Item use cases against an in-memory repository: ids, timestamps, pagination cursors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.api.logic import items
from handlers.api.logic.cursor import decode_cursor
from handlers.api.models import CreateItemRequest
from handlers.shared.exceptions import InvalidCursorError, InvalidIdError, ItemNotFound
from handlers.shared.models import Item


class MemoryItems:
    """Just enough of ItemsRepository for the logic."""

    def __init__(self) -> None:
        self.items: dict[str, Item] = {}
        self.calls: list[str] = []

    def put_new(self, item: Item) -> None:
        self.calls.append("put_new")
        self.items[item.id] = item

    def get(self, item_id: str) -> Item | None:
        self.calls.append("get")
        return self.items.get(item_id)

    def list_newest(self, limit: int, after: tuple[str, str] | None) -> tuple[list[Item], bool]:
        self.calls.append("list_newest")
        ordered = sorted(self.items.values(), key=lambda i: (i.created_at, i.id), reverse=True)
        if after:
            ordered = [i for i in ordered if (i.created_at, i.id) < after]
        return ordered[:limit], len(ordered) > limit


FIXED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_create_item_stamps_version_and_times() -> None:
    repository = MemoryItems()

    item = items.create_item(
        CreateItemRequest(name="Lamp", tags=["a"]),
        repository,  # type: ignore[arg-type]
        clock=lambda: FIXED,
        make_id=lambda: "0b0a1c4e-1d2f-4a3b-8c4d-5e6f7a8b9c0d",
    )

    assert item.version == 1
    assert item.created_at == item.updated_at == "2025-03-01T12:00:00.000000Z"
    assert repository.items[item.id] == item


def test_malformed_id_fails_before_any_read() -> None:
    repository = MemoryItems()

    with pytest.raises(InvalidIdError):
        items.get_item("not-an-id", repository)  # type: ignore[arg-type]
    assert repository.calls == []


def test_missing_item_is_not_found() -> None:
    with pytest.raises(ItemNotFound):
        items.get_item("0b0a1c4e-1d2f-4a3b-8c4d-5e6f7a8b9c0d", MemoryItems())  # type: ignore[arg-type]


def test_pages_chain_through_cursors_and_the_last_page_has_none() -> None:
    repository = MemoryItems()
    for second in range(5):
        items.create_item(
            CreateItemRequest(name=f"n{second}"),
            repository,  # type: ignore[arg-type]
            clock=lambda s=second: FIXED.replace(second=s),
        )

    first = items.list_items(2, None, repository)  # type: ignore[arg-type]
    second = items.list_items(2, first.next_cursor, repository)  # type: ignore[arg-type]
    third = items.list_items(2, second.next_cursor, repository)  # type: ignore[arg-type]

    names = [i.name for page in (first, second, third) for i in page.items]
    assert names == ["n4", "n3", "n2", "n1", "n0"]
    assert third.next_cursor is None
    assert first.next_cursor is not None
    assert decode_cursor(first.next_cursor)[1] == first.items[-1].id


def test_bad_cursor_fails_before_any_read() -> None:
    repository = MemoryItems()

    with pytest.raises(InvalidCursorError):
        items.list_items(10, "garbage!", repository)  # type: ignore[arg-type]
    assert repository.calls == []
