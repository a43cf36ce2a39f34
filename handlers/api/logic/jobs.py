"""Job use cases."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from handlers.shared.exceptions import JobNotFound, JobStartFailed, PayloadTooLarge
from handlers.shared.identifiers import new_id, parse_id
from handlers.shared.models import PENDING, Job, JobError
from handlers.shared.observability import logger, metrics
from handlers.shared.timeutil import to_iso, utc_now

if TYPE_CHECKING:
    from handlers.api.models import CreateJobRequest
    from handlers.shared.aws.jobs_repository import JobsRepository
    from handlers.shared.aws.workflow_starter import WorkflowStarter

MAX_PAYLOAD_BYTES = 64 * 1024
START_FAILED = JobError(code="WorkflowStartFailed", message="The job could not be started; submit it again")


def payload_size(payload: dict[str, object]) -> int:
    """Size in bytes of the payload serialized as compact UTF-8 JSON (what the limit applies to)."""
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())


def submit_job(
    request: CreateJobRequest,
    jobs: JobsRepository,
    workflow: WorkflowStarter,
    *,
    clock: Callable[[], datetime] = utc_now,
    make_id: Callable[[], str] = new_id,
) -> Job:
    """Store a PENDING job, then start its workflow.

    If the start fails the job is marked FAILED before JobStartFailed is raised: a PENDING job
    that no workflow will ever process must not exist.
    """
    size = payload_size(request.payload)
    if size > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"payload is {size} bytes serialized; the limit is {MAX_PAYLOAD_BYTES} bytes")
    now = to_iso(clock())
    job = Job(job_id=make_id(), status=PENDING, payload=request.payload, created_at=now, updated_at=now)
    jobs.put_new(job)
    try:
        workflow.start(job.job_id, {"job_id": job.job_id, "payload": job.payload})
    except Exception as start_error:
        _mark_start_failed(job.job_id, jobs, clock)
        raise JobStartFailed("The job could not be started and was marked FAILED; retry later") from start_error
    metrics.add_metric(name="JobsSubmitted", unit="Count", value=1)
    return job


def _mark_start_failed(job_id: str, jobs: JobsRepository, clock: Callable[[], datetime]) -> None:
    logger.warning("Workflow start failed; marking the job FAILED", job_id=job_id, exc_info=True)
    try:
        jobs.fail(job_id, START_FAILED, now=to_iso(clock()))
    except Exception:
        # Nothing more can be done in this request: alarm on the metric, the TTL removes the record.
        logger.exception("Job left PENDING after a failed start", job_id=job_id)
        metrics.add_metric(name="JobsLeftPending", unit="Count", value=1)


def get_job(raw_id: str, jobs: JobsRepository) -> Job:
    """Return the job or raise JobNotFound; a malformed id fails before any read."""
    job_id = parse_id(raw_id)
    job = jobs.get(job_id)
    if job is None:
        raise JobNotFound(f"Job {job_id!r} not found")
    return job
