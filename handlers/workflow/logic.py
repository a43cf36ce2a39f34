"""The workflow's logic, one function per task (no boto3: stores and publisher are passed in)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from handlers.shared.exceptions import JobNotFound, JobStateConflict, JobValidationError
from handlers.shared.models import COMPLETED, PROCESSING, JobError
from handlers.shared.observability import logger
from handlers.shared.timeutil import to_iso, utc_now
from handlers.workflow.models import (
    FailedState,
    JobPayload,
    JobResult,
    JobState,
    Operation,
    ProcessedState,
    ValidatedState,
)

if TYPE_CHECKING:
    from handlers.shared.aws.events_publisher import EventsPublisher
    from handlers.shared.aws.job_lookup import JobLookup
    from handlers.shared.aws.job_transitions import JobTransitions

MAX_ERROR_MESSAGE = 1000
GENERIC_FAILURE = "The job could not be processed"

Clock = Callable[[], datetime]


StateT = TypeVar("StateT", bound=BaseModel)


def parse_state(model: type[StateT], event: Any) -> StateT:
    """Parse a task's input; a malformed state is a JobValidationError (never worth a retry)."""
    try:
        return model.model_validate(event)
    except ValidationError as err:
        raise JobValidationError(f"Invalid task input: {_problems(err)}") from None


def _problems(err: ValidationError, prefix: str = "") -> str:
    return "; ".join(
        ".".join([*([prefix] if prefix else []), *(str(part) for part in error["loc"])]) + f": {error['msg']}"
        for error in err.errors(include_url=False, include_input=False)
    )


def validate(state: JobState) -> dict[str, Any]:
    """Check the payload rules; return the state plus the operation, or raise JobValidationError."""
    try:
        payload = JobPayload.model_validate(state.payload)
    except ValidationError as err:
        raise JobValidationError(f"Invalid job payload: {_problems(err, 'payload')}") from None
    return {**state.model_dump(), "operation": payload.operation}


def compute(values: list[int | float], operation: Operation) -> JobResult:
    """Apply ``operation`` to ``values`` (non-empty)."""
    if operation == "sum":
        value: int | float = math.fsum(values) if any(isinstance(v, float) for v in values) else sum(values)
    elif operation == "mean":
        value = math.fsum(values) / len(values)
    elif operation == "min":
        value = min(values)
    else:
        value = max(values)
    return JobResult(operation=operation, value=value, count=len(values))


def process(state: ValidatedState, jobs: JobTransitions, clock: Clock = utc_now) -> dict[str, Any]:
    """PENDING -> PROCESSING, compute, store the result once; a retry returns the stored result."""
    stored = _start(state.job_id, jobs, clock)
    if stored is None:
        payload = JobPayload.model_validate(state.payload)
        result = compute(list(payload.items), state.operation).model_dump()
        try:
            jobs.record_result(state.job_id, result, now=to_iso(clock()))
            stored = result
        except JobStateConflict as conflict:
            # An earlier attempt stored its result after all: keep that one, do not apply twice.
            if conflict.current is None or conflict.current.result is None:
                raise
            logger.info("Result already recorded by an earlier attempt", job_id=state.job_id)
            stored = conflict.current.result
    return {**state.model_dump(), "result": stored}


def _start(job_id: str, jobs: JobTransitions, clock: Clock) -> dict[str, Any] | None:
    """Move the job to PROCESSING; return the stored result if an earlier attempt already has one."""
    try:
        jobs.start_processing(job_id, now=to_iso(clock()))
        return None
    except JobStateConflict as conflict:
        current = conflict.current
        if current is not None and current.status in {PROCESSING, COMPLETED}:
            logger.info("Retried attempt", job_id=job_id, status=current.status)
            return current.result
        raise


def notify(
    state: ProcessedState, jobs: JobLookup, publisher: EventsPublisher, clock: Clock = utc_now
) -> dict[str, Any]:
    """Publish JobCompleted, then PROCESSING -> COMPLETED (publishes nothing for a COMPLETED job)."""
    job = jobs.get(state.job_id)
    if job is None:
        raise JobNotFound(f"Job {state.job_id!r} not found")
    if job.status == COMPLETED:
        return {**state.model_dump(), "status": COMPLETED, "message_id": None}
    if job.status != PROCESSING or job.result is None:
        raise JobStateConflict(f"Job {state.job_id!r} is {job.status}; cannot complete it", current=job)
    message_id = publisher.publish(
        "JobCompleted",
        {
            "event_type": "JobCompleted",
            "job_id": job.job_id,
            "status": COMPLETED,
            "result": job.result,
            "occurred_at": to_iso(clock()),
        },
    )
    try:
        jobs.complete(state.job_id, now=to_iso(clock()))
    except JobStateConflict as conflict:
        if conflict.current is None or conflict.current.status != COMPLETED:
            raise
    return {**state.model_dump(), "status": COMPLETED, "message_id": message_id}


def failure_of(state: FailedState) -> JobError:
    """The client-safe error to record from what Step Functions caught."""
    code = state.error.Error
    message = GENERIC_FAILURE
    if code == "JobValidationError":
        message = _error_message(state.error.Cause) or GENERIC_FAILURE
    return JobError(code=code[:100], message=message[:MAX_ERROR_MESSAGE])


def _error_message(cause: str | None) -> str | None:
    """A Lambda error Cause is JSON with errorMessage, errorType and stackTrace: keep the message only."""
    if not cause:
        return None
    try:
        document = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(document, dict) and isinstance(document.get("errorMessage"), str):
        return str(document["errorMessage"])
    return None


def mark_failed(state: FailedState, jobs: JobTransitions, clock: Clock = utc_now) -> dict[str, Any]:
    """PENDING/PROCESSING -> FAILED with the caught error; a finished job stays as it is."""
    logger.warning("Job failed", job_id=state.job_id, error=state.error.Error)
    try:
        job = jobs.fail(state.job_id, failure_of(state), now=to_iso(clock()))
    except JobStateConflict as conflict:
        if conflict.current is None:
            raise
        logger.info("Job already finished; left unchanged", job_id=state.job_id, status=conflict.current.status)
        job = conflict.current
    return {"job_id": job.job_id, "status": job.status}
