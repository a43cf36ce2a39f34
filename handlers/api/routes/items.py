"""Routes of the items resource."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from handlers.api import dependencies, idempotent
from handlers.api.idempotent import IdempotencyKey
from handlers.api.logic import items
from handlers.api.models import (
    PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
    CreateItemRequest,
    ItemListOut,
    UpdateItemRequest,
)
from handlers.api.routes import docs
from handlers.shared.models import Item

router = Router()

# Checked by the logic (parse_id), so a malformed id is a 400 invalid_id rather than a generic 422.
ItemId = Annotated[str, Path(description="Item id: a UUID or a ULID")]


def _json(status: HTTPStatus, body: Any) -> Response[Any]:
    return Response(status_code=int(status), content_type=content_types.APPLICATION_JSON, body=body)


# POST /items: create
@router.post(
    "/items",
    summary="Create an item",
    tags=["items"],
    responses={
        201: docs.ok("Created; Location points to the item", Item),
        400: docs.BAD_JSON,
        409: docs.CONFLICT,
        415: docs.NOT_JSON,
        422: docs.VALIDATION,
        503: docs.UNAVAILABLE,
    },
)
def post_item(body: CreateItemRequest, idempotency_key: IdempotencyKey = None) -> Response[Item]:
    """Create an item (never overwrites); with Idempotency-Key, retries replay the first answer."""

    def create() -> idempotent.Outcome:
        item = items.create_item(body, dependencies.items_repository())
        return idempotent.Outcome(
            status=int(HTTPStatus.CREATED), body=item.model_dump(mode="json"), location=f"/items/{item.id}"
        )

    return idempotent.respond_once(
        scope="POST /items",
        key=idempotency_key,
        request=body,
        event=router.current_event,
        context=router.lambda_context,
        operation=create,
    )


# GET /items: list
@router.get(
    "/items",
    summary="List items, newest first",
    tags=["items"],
    responses={
        200: docs.ok("A page of items", ItemListOut),
        400: docs.error("invalid_cursor: the cursor was not issued by this API"),
        422: docs.VALIDATION,
        503: docs.UNAVAILABLE,
    },
)
def list_items(
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX, description="Page size")] = PAGE_LIMIT_DEFAULT,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
) -> Response[ItemListOut]:
    """Return one page of items and the cursor of the next one."""
    page = items.list_items(limit, cursor, dependencies.items_repository())
    return _json(HTTPStatus.OK, ItemListOut(items=page.items, next_cursor=page.next_cursor))


# GET /items/{id}: read
@router.get(
    "/items/<id>",
    summary="Get an item",
    tags=["items"],
    responses={
        200: docs.ok("The item", Item),
        400: docs.INVALID_ID,
        404: docs.error("item_not_found"),
        422: docs.VALIDATION,
        503: docs.UNAVAILABLE,
    },
)
def get_item(id: ItemId) -> Response[Item]:
    """Return one item."""
    return _json(HTTPStatus.OK, items.get_item(id, dependencies.items_repository()))


# PUT /items/{id}: replace
@router.put(
    "/items/<id>",
    summary="Replace an item's fields (optimistic concurrency on version)",
    tags=["items"],
    responses={
        200: docs.ok("The updated item, version + 1", Item),
        400: docs.INVALID_ID_OR_JSON,
        404: docs.error("item_not_found"),
        409: docs.error("version_conflict: the item changed since that version"),
        415: docs.NOT_JSON,
        422: docs.VALIDATION,
        503: docs.UNAVAILABLE,
    },
)
def put_item(id: ItemId, body: UpdateItemRequest) -> Response[Item]:
    """Replace name, description and tags if ``version`` is still current."""
    return _json(HTTPStatus.OK, items.update_item(id, body, dependencies.items_repository()))


# DELETE /items/{id}: delete
@router.delete(
    "/items/<id>",
    summary="Delete an item",
    tags=["items"],
    responses={
        204: docs.ok("Deleted"),
        400: docs.INVALID_ID,
        404: docs.error("item_not_found"),
        422: docs.VALIDATION,
        503: docs.UNAVAILABLE,
    },
)
def delete_item(id: ItemId) -> Response[None]:
    """Delete one item."""
    items.delete_item(id, dependencies.items_repository())
    return Response(status_code=int(HTTPStatus.NO_CONTENT), body=None)
