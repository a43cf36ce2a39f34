"""Domain records shared by the API, the workflow tasks, the digest and the stream consumer.

``Item`` is also the HTTP representation of an item (the contract fields, nothing else).
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

JobStatus = Literal["PENDING", "PROCESSING", "COMPLETED", "FAILED"]

PENDING: Final = "PENDING"
PROCESSING: Final = "PROCESSING"
COMPLETED: Final = "COMPLETED"
FAILED: Final = "FAILED"


class Item(BaseModel):
    """An item as stored and as returned by the API."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="UUID (or ULID) of the item")
    name: str
    description: str | None = None
    tags: list[str]
    version: int = Field(ge=1, description="Incremented by every update; send it back on PUT")
    created_at: str = Field(description="RFC 3339 UTC timestamp")
    updated_at: str = Field(description="RFC 3339 UTC timestamp")


class JobError(BaseModel):
    """Why a job failed, as shown to clients (no stack traces, no internal messages)."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Error name, e.g. JobValidationError or WorkflowStartFailed")
    message: str


class Job(BaseModel):
    """A background job as stored."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    status: JobStatus
    payload: dict[str, Any]
    result: dict[str, Any] | None = None
    error: JobError | None = None
    created_at: str
    updated_at: str
