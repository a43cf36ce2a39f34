"""Reading a job: GetItem, on top of :class:`JobTransitions` (``notify`` reads, then completes)."""

from __future__ import annotations

from handlers.shared.aws.errors import aws_call
from handlers.shared.aws.job_records import job_from_attributes, job_key
from handlers.shared.aws.job_transitions import JobTransitions
from handlers.shared.models import Job

AWS_SERVICE = "dynamodb"


class JobLookup(JobTransitions):
    """Reads a job and changes its status; raises domain errors only."""

    def get(self, job_id: str) -> Job | None:
        """Return the job, or None when it does not exist (strongly consistent read)."""
        with aws_call("dynamodb.GetItem"):
            response = self._client.get_item(TableName=self._table, Key=job_key(job_id), ConsistentRead=True)
        stored = response.get("Item")
        return job_from_attributes(stored) if stored else None
