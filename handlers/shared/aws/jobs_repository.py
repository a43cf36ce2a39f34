"""All job data access of the API: creating a job (PutItem) on top of reading and status changes.

Operations: PutItem, GetItem, UpdateItem (see the table design in :mod:`handlers.shared.aws`).
"""

from __future__ import annotations

from handlers.shared.aws.errors import ConditionFailed, aws_call
from handlers.shared.aws.job_lookup import JobLookup
from handlers.shared.aws.job_records import job_to_attributes
from handlers.shared.exceptions import JobStateConflict
from handlers.shared.models import Job

AWS_SERVICE = "dynamodb"


class JobsRepository(JobLookup):
    """Creates, reads and changes jobs; raises domain errors only."""

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
