"""Request and response models of the HTTP API (limits live in the fields)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from handlers.shared.models import Item, JobError, JobStatus

NAME_MAX = 200
DESCRIPTION_MAX = 2000
TAGS_MAX = 20
TAG_MAX = 50
PAGE_LIMIT_DEFAULT = 20
PAGE_LIMIT_MAX = 100
IDEMPOTENCY_KEY_MAX = 255

# Unicode category Cc: C0 controls, DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Descriptions may span lines: tab, line feed and carriage return are allowed there.
_CONTROL_EXCEPT_WHITESPACE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _no_control_except_whitespace(value: str) -> str:
    if _CONTROL_EXCEPT_WHITESPACE.search(value):
        raise ValueError("must not contain control characters other than tab and line breaks")
    return value


def _is_none(value: object) -> bool:
    return value is None


def _unique(tags: list[str]) -> list[str]:
    seen: set[str] = set()
    for tag in tags:
        if tag in seen:
            raise ValueError(f"tags must be unique; {tag!r} appears more than once")
        seen.add(tag)
    return tags


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX),
    AfterValidator(_no_control),
    Field(description=f"1-{NAME_MAX} characters after trimming, no control characters"),
]
Description = Annotated[
    str,
    StringConstraints(max_length=DESCRIPTION_MAX),
    AfterValidator(_no_control_except_whitespace),
    Field(description=f"At most {DESCRIPTION_MAX} characters"),
]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TAG_MAX),
    AfterValidator(_no_control),
]
Tags = Annotated[
    list[Tag],
    Field(max_length=TAGS_MAX, description=f"At most {TAGS_MAX} unique tags of 1-{TAG_MAX} characters"),
    AfterValidator(_unique),
]

# Requests reject unknown fields and never coerce types ("1" is not a version).
_REQUEST = ConfigDict(extra="forbid", strict=True, frozen=True)


class CreateItemRequest(BaseModel):
    """Body of POST /items."""

    model_config = _REQUEST

    name: Name
    description: Description | None = None
    tags: Tags = []


class UpdateItemRequest(BaseModel):
    """Body of PUT /items/{id}: a full replacement of the editable fields (omitted = cleared)."""

    model_config = _REQUEST

    name: Name
    description: Description | None = None
    tags: Tags = []
    version: int = Field(ge=1, description="The version the client last read; 409 if it changed since")


class CreateJobRequest(BaseModel):
    """Body of POST /jobs."""

    model_config = _REQUEST

    payload: dict[str, Any] = Field(description="Any JSON object of at most 64 KB once serialized")


class ItemListOut(BaseModel):
    """A page of items, newest first."""

    items: list[Item]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


class JobAcceptedOut(BaseModel):
    """Answer of POST /jobs."""

    job_id: str
    status: Literal["PENDING"]


class JobOut(BaseModel):
    """A job as shown to clients; ``result`` and ``error`` are present only when set."""

    job_id: str
    status: JobStatus
    result: dict[str, Any] | None = Field(None, exclude_if=_is_none)
    error: JobError | None = Field(None, exclude_if=_is_none)
    created_at: str
    updated_at: str


class ErrorDetail(BaseModel):
    """One failing field of a validation error."""

    field: str = Field(description="Dotted path, e.g. body.tags.3 or query.limit")
    message: str
    type: str


class ErrorInfo(BaseModel):
    """The error object of every error response."""

    code: str = Field(description="snake_case error code")
    message: str
    request_id: str
    details: list[ErrorDetail] | None = Field(None, description="Only for validation_error")


class ErrorOut(BaseModel):
    """Body of every error response."""

    error: ErrorInfo


class HealthOut(BaseModel):
    """Answer of GET /health; a 503 also carries the standard ``error`` object."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, Literal["ok", "unavailable"]]
    error: ErrorInfo | None = Field(None, exclude_if=_is_none)
