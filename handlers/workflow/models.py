"""Pydantic models of the workflow state (see the shapes in :mod:`handlers.workflow`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from handlers.shared.exceptions import InvalidIdError
from handlers.shared.identifiers import parse_id

Operation = Literal["sum", "mean", "min", "max"]
MAX_VALUES = 10_000


def _job_id(raw: str) -> str:
    try:
        return parse_id(raw)
    except InvalidIdError as err:
        raise ValueError(str(err)) from None


JobId = Annotated[str, AfterValidator(_job_id)]


class JobState(BaseModel):
    """What every task receives: the execution input plus what earlier tasks added."""

    # Keys added by other states pass through untouched.
    model_config = ConfigDict(extra="allow", frozen=True)

    job_id: JobId
    payload: dict[str, Any]


class JobPayload(BaseModel):
    """The processing rules a payload must follow (checked by ``validate``)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    items: list[Annotated[int | float, Field(allow_inf_nan=False)]] = Field(min_length=1, max_length=MAX_VALUES)
    operation: Operation = "sum"


class ValidatedState(JobState):
    """Output of ``validate``."""

    operation: Operation


class JobResult(BaseModel):
    """What ``process`` computes."""

    operation: Operation
    value: int | float
    count: int


class ProcessedState(ValidatedState):
    """Output of ``process``."""

    result: JobResult


class CaughtError(BaseModel):
    """What a Step Functions Catch puts at ``$.error``."""

    model_config = ConfigDict(extra="allow")

    Error: str = "States.Unknown"
    Cause: str | None = None


class FailedState(BaseModel):
    """Input of ``mark_failed``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    job_id: JobId
    error: CaughtError


class ExecutionStatusChange(BaseModel):
    """The ``detail`` of an EventBridge "Step Functions Execution Status Change" event.

    The execution's ``name`` is the job id (``POST /jobs`` starts it so); ``input`` may be left
    out by EventBridge for large payloads, so it is not relied on.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    executionArn: str
    name: str
    status: str


# Error codes recorded for executions that ended without marking their job.
EXECUTION_END_ERRORS = {"FAILED": "WorkflowFailed", "TIMED_OUT": "WorkflowTimedOut", "ABORTED": "WorkflowAborted"}
EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"
