"""Item use cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from handlers.api.logic.cursor import decode_cursor, encode_cursor
from handlers.shared.exceptions import ItemNotFound
from handlers.shared.identifiers import new_id, parse_id
from handlers.shared.models import Item
from handlers.shared.observability import metrics
from handlers.shared.timeutil import to_iso, utc_now

if TYPE_CHECKING:
    from handlers.api.models import CreateItemRequest, UpdateItemRequest
    from handlers.shared.aws.items_repository import ItemsRepository


@dataclass(frozen=True)
class ItemPage:
    """One page of a listing."""

    items: list[Item]
    next_cursor: str | None


def create_item(
    request: CreateItemRequest,
    repository: ItemsRepository,
    *,
    clock: Callable[[], datetime] = utc_now,
    make_id: Callable[[], str] = new_id,
) -> Item:
    """Create an item at version 1 (conditional put: an existing id is never overwritten)."""
    now = to_iso(clock())
    item = Item(
        id=make_id(),
        name=request.name,
        description=request.description,
        tags=list(request.tags),
        version=1,
        created_at=now,
        updated_at=now,
    )
    repository.put_new(item)
    metrics.add_metric(name="ItemsCreated", unit="Count", value=1)
    return item


def get_item(raw_id: str, repository: ItemsRepository) -> Item:
    """Return the item or raise ItemNotFound; a malformed id fails before any read."""
    item_id = parse_id(raw_id)
    item = repository.get(item_id)
    if item is None:
        raise ItemNotFound(f"Item {item_id!r} not found")
    return item


def list_items(limit: int, cursor: str | None, repository: ItemsRepository) -> ItemPage:
    """Return a page of items, newest first, and the cursor of the next page if there is one."""
    start = decode_cursor(cursor) if cursor is not None else None
    items, has_more = repository.list_newest(limit, start)
    next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if has_more and items else None
    return ItemPage(items=items, next_cursor=next_cursor)


def update_item(
    raw_id: str,
    request: UpdateItemRequest,
    repository: ItemsRepository,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> Item:
    """Replace the editable fields if ``request.version`` is current; raise ItemNotFound/VersionConflict."""
    item_id = parse_id(raw_id)
    return repository.replace(
        item_id,
        name=request.name,
        description=request.description,
        tags=list(request.tags),
        expected_version=request.version,
        updated_at=to_iso(clock()),
    )


def delete_item(raw_id: str, repository: ItemsRepository) -> None:
    """Delete the item or raise ItemNotFound."""
    repository.delete(parse_id(raw_id))
