"""Status changes of jobs: conditional UpdateItem calls (see the table design in :mod:`handlers.shared.aws`).

Every status change is a conditional update from an allowed source status, so a job never leaves
COMPLETED or FAILED and a retried step cannot apply twice. ``process`` and ``mark_failed`` need
nothing else; :mod:`handlers.shared.aws.job_lookup` adds reading a job.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from handlers.shared.aws import clients
from handlers.shared.aws.errors import ConditionFailed, aws_call
from handlers.shared.aws.job_records import JSON_DUMPS, error_attribute, job_from_attributes, job_key
from handlers.shared.exceptions import JobNotFound, JobStateConflict
from handlers.shared.models import COMPLETED, FAILED, PENDING, PROCESSING, Job, JobError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

AWS_SERVICE = "dynamodb"


class JobTransitions:
    """Status changes of existing jobs (UpdateItem only); raises domain errors only."""

    def __init__(self, table_name: str) -> None:
        self._table = table_name

    @property
    def _client(self) -> DynamoDBClient:
        # Looked up on every call: the factory owns the one client per container (and tests reset it).
        return clients.get("dynamodb")

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
                ":result": {"S": json.dumps(result, **JSON_DUMPS)},  # type: ignore[arg-type]
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
            values[":error"] = error_attribute(error)
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
