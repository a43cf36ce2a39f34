"""Job records as DynamoDB attribute values (see the table design in :mod:`handlers.shared.aws`).

Marshalling only, no AWS calls: shared by the job adapters, each of which makes one kind of call,
so every function is granted only the DynamoDB actions of the adapters it imports.
"""

from __future__ import annotations

import json
from typing import Any

from handlers.shared.aws.table_keys import JOB_PK_PREFIX, JOB_SK
from handlers.shared.models import Job, JobError
from handlers.shared.timeutil import from_iso

# Finished and abandoned jobs disappear through the table TTL a month after creation.
JOB_RETENTION_SECONDS = 30 * 24 * 3600

JSON_DUMPS = {"separators": (",", ":"), "ensure_ascii": False}


def job_key(job_id: str) -> dict[str, Any]:
    """Return the primary key of a job."""
    return {"pk": {"S": JOB_PK_PREFIX + job_id}, "sk": {"S": JOB_SK}}


def job_to_attributes(job: Job) -> dict[str, Any]:
    """Marshal a job to DynamoDB attribute values, with its keys and TTL."""
    expires_at = int(from_iso(job.created_at).timestamp()) + JOB_RETENTION_SECONDS
    attributes: dict[str, Any] = {
        **job_key(job.job_id),
        "type": {"S": "JOB"},
        "job_id": {"S": job.job_id},
        "status": {"S": job.status},
        "payload": {"S": json.dumps(job.payload, **JSON_DUMPS)},  # type: ignore[arg-type]
        "created_at": {"S": job.created_at},
        "updated_at": {"S": job.updated_at},
        "expires_at": {"N": str(expires_at)},
    }
    if job.result is not None:
        attributes["result"] = {"S": json.dumps(job.result, **JSON_DUMPS)}  # type: ignore[arg-type]
    if job.error is not None:
        attributes["error"] = error_attribute(job.error)
    return attributes


def job_from_attributes(attributes: dict[str, Any]) -> Job:
    """Unmarshal DynamoDB attribute values into a job."""
    error = attributes.get("error", {}).get("M")
    return Job(
        job_id=attributes["job_id"]["S"],
        status=attributes["status"]["S"],
        payload=json.loads(attributes["payload"]["S"]),
        result=json.loads(attributes["result"]["S"]) if "result" in attributes else None,
        error=JobError(code=error["code"]["S"], message=error["message"]["S"]) if error else None,
        created_at=attributes["created_at"]["S"],
        updated_at=attributes["updated_at"]["S"],
    )


def error_attribute(error: JobError) -> dict[str, Any]:
    """Marshal the error recorded on a failed job."""
    return {"M": {"code": {"S": error.code}, "message": {"S": error.message}}}
