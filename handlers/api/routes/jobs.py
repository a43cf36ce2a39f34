"""Routes of the jobs resource."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from handlers.api import dependencies, idempotent
from handlers.api.idempotent import IdempotencyKey
from handlers.api.logic import jobs
from handlers.api.models import CreateJobRequest, JobAcceptedOut, JobOut
from handlers.api.routes import docs

router = Router()

JobId = Annotated[str, Path(description="Job id: a UUID or a ULID")]


# POST /jobs: submit
@router.post(
    "/jobs",
    summary="Submit a background job",
    tags=["jobs"],
    responses={
        202: docs.ok("Accepted; Location points to the job", JobAcceptedOut),
        400: docs.BAD_JSON,
        409: docs.CONFLICT,
        413: docs.error("payload_too_large: payload over 64 KB serialized"),
        415: docs.NOT_JSON,
        422: docs.VALIDATION,
        503: docs.UNAVAILABLE,
    },
)
def post_job(body: CreateJobRequest, idempotency_key: IdempotencyKey = None) -> Response[JobAcceptedOut]:
    """Store the job as PENDING and start its workflow; 503 (job FAILED) if the start fails."""

    def submit() -> idempotent.Outcome:
        job = jobs.submit_job(body, dependencies.jobs_repository(), dependencies.workflow_starter())
        return idempotent.Outcome(
            status=int(HTTPStatus.ACCEPTED),
            body={"job_id": job.job_id, "status": job.status},
            location=f"/jobs/{job.job_id}",
        )

    return idempotent.respond_once(
        scope="POST /jobs",
        key=idempotency_key,
        request=body,
        event=router.current_event,
        context=router.lambda_context,
        operation=submit,
    )


# GET /jobs/{id}: read
@router.get(
    "/jobs/<id>",
    summary="Get a job's status and result",
    tags=["jobs"],
    responses={
        200: docs.ok("The job", JobOut),
        400: docs.INVALID_ID,
        404: docs.error("job_not_found"),
        422: docs.VALIDATION,
        503: docs.UNAVAILABLE,
    },
)
def get_job(id: JobId) -> Response[JobOut]:
    """Return one job."""
    job = jobs.get_job(id, dependencies.jobs_repository())
    body = JobOut(
        job_id=job.job_id,
        status=job.status,
        result=job.result,
        error=job.error,
        created_at=job.created_at,
        updated_at=job.updated_at,
    )
    return Response(status_code=int(HTTPStatus.OK), content_type=content_types.APPLICATION_JSON, body=body)
