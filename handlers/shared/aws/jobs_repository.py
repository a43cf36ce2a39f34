"""DynamoDB data access for jobs (see the table design in :mod:`handlers.shared.aws`).

Operations: PutItem, GetItem, UpdateItem. Every status change is a conditional update from an
allowed source status, so a job never leaves COMPLETED or FAILED and a retried step cannot apply twice.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from handlers.shared.aws import clients
from handlers.shared.aws.errors import ConditionFailed, aws_call
from handlers.shared.aws.table_keys import JOB_PK_PREFIX, JOB_SK
from handlers.shared.exceptions import JobNotFound, JobStateConflict
from handlers.shared.models import COMPLETED, FAILED, PENDING, PROCESSING, Job, JobError
from handlers.shared.timeutil import from_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

AWS_SERVICE = "dynamodb"

# Finished and abandoned jobs disappear through the table TTL a month after creation.
JOB_RETENTION_SECONDS = 30 * 24 * 3600

_JSON = {"separators": (",", ":"), "ensure_ascii": False}


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
        "payload": {"S": json.dumps(job.payload, **_JSON)},  # type: ignore[arg-type]
        "created_at": {"S": job.created_at},
        "updated_at": {"S": job.updated_at},
        "expires_at": {"N": str(expires_at)},
    }
    if job.result is not None:
        attributes["result"] = {"S": json.dumps(job.result, **_JSON)}  # type: ignore[arg-type]
    if job.error is not None:
        attributes["error"] = _error_attribute(job.error)
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


def _error_attribute(error: JobError) -> dict[str, Any]:
    return {"M": {"code": {"S": error.code}, "message": {"S": error.message}}}


class JobsRepository:
    """Reads and writes job records; raises domain errors only."""

    def __init__(self, table_name: str) -> None:
        self._table = table_name

    @property
    def _client(self) -> DynamoDBClient:
        # Looked up on every call: the factory owns the one client per container (and tests reset it).
        return clients.get("dynamodb")

    def put_new(self, job: Job) -> None:
        """Store a new job; never overwrite an existing one."""
        try:
            with aws_call("dynamodb.PutItem"):
                self._client.put_item(
                    TableName=self._table,
                    Item=job_to_attributes(job),
                    ConditionExpression="attribute_not_exists(pk)",
                )
        except ConditionFailed as err:
            raise JobStateConflict(f"Job {job.job_id!r} already exists") from err

    def get(self, job_id: str) -> Job | None:
        """Return the job, or None when it does not exist (strongly consistent read)."""
        with aws_call("dynamodb.GetItem"):
            response = self._client.get_item(TableName=self._table, Key=job_key(job_id), ConsistentRead=True)
        stored = response.get("Item")
        return job_from_attributes(stored) if stored else None

    def start_processing(self, job_id: str, *, now: str) -> Job:
        """PENDING -> PROCESSING."""
        return self._transition(job_id, to_status=PROCESSING, from_statuses=(PENDING,), now=now)

    def record_result(self, job_id: str, result: dict[str, Any], *, now: str) -> Job:
        """Store the result of a PROCESSING job, once: a second call raises JobStateConflict."""
        return self._update(
            job_id,
            update="SET #result = :result, #updated_at = :now",
            condition="#status = :processing AND attribute_not_exists(#result)",
            names={"#result": "result", "#status": "status", "#updated_at": "updated_at"},
            values={
                ":result": {"S": json.dumps(result, **_JSON)},  # type: ignore[arg-type]
                ":processing": {"S": PROCESSING},
                ":now": {"S": now},
            },
            refusal=f"Job {job_id!r} is not PROCESSING without a result",
        )

    def complete(self, job_id: str, *, now: str) -> Job:
        """PROCESSING -> COMPLETED."""
        return self._transition(job_id, to_status=COMPLETED, from_statuses=(PROCESSING,), now=now)

    def fail(self, job_id: str, error: JobError, *, now: str) -> Job:
        """PENDING or PROCESSING -> FAILED, recording why."""
        return self._transition(job_id, to_status=FAILED, from_statuses=(PENDING, PROCESSING), now=now, error=error)

    def _transition(
        self,
        job_id: str,
        *,
        to_status: str,
        from_statuses: tuple[str, ...],
        now: str,
        error: JobError | None = None,
    ) -> Job:
        allowed = {f":from{index}": {"S": status} for index, status in enumerate(from_statuses)}
        values: dict[str, Any] = {":to": {"S": to_status}, ":now": {"S": now}, **allowed}
        update = "SET #status = :to, #updated_at = :now"
        names = {"#status": "status", "#updated_at": "updated_at"}
        if error is not None:
            update += ", #error = :error"
            names["#error"] = "error"
            values[":error"] = _error_attribute(error)
        return self._update(
            job_id,
            update=update,
            condition=f"#status IN ({', '.join(allowed)})",
            names=names,
            values=values,
            refusal=f"Job {job_id!r} cannot become {to_status} from its current status",
        )

    def _update(
        self,
        job_id: str,
        *,
        update: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, Any],
        refusal: str,
    ) -> Job:
        try:
            with aws_call("dynamodb.UpdateItem"):
                response = self._client.update_item(
                    TableName=self._table,
                    Key=job_key(job_id),
                    UpdateExpression=update,
                    ConditionExpression=f"attribute_exists(pk) AND ({condition})",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ConditionFailed as err:
            if not err.item:
                raise JobNotFound(f"Job {job_id!r} not found") from err
            raise JobStateConflict(refusal, current=job_from_attributes(err.item)) from err
        return job_from_attributes(response["Attributes"])
