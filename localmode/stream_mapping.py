"""DynamoDB stream event source mappings, delivered as Lambda does: asynchronously, in order, with retries.

moto does invoke the mapped function on every table write (``StreamShard.add`` calls
``LambdaBackend.send_dynamodb_items`` with NEW_AND_OLD_IMAGES records), but synchronously, inside the
PutItem/UpdateItem/DeleteItem request that wrote the record, so the writer waits for the consumer (and
its client may time out and retry the write); it also drops the records whatever the function answers,
and keeps invoking after the mapping is deleted or disabled. :func:`install` turns that hook into a
queue: moto's request returns at once, and one worker thread delivers each mapping's records in order,
in batches of the mapping's BatchSize, through ``LambdaFunction.invoke`` (the in-process runtime):

* with ``ReportBatchItemFailures``, ``batchItemFailures`` checkpoint the records before the first
  failed one and the rest is retried (an unknown or empty identifier retries the whole batch);
* a function error retries the whole batch;
* after ``MaximumRetryAttempts`` (unset or -1: 3 here, instead of AWS's "until the record expires")
  the batch is described on the mapping's on-failure destination, as AWS does, and skipped: an SQS
  queue gets the metadata only, an S3 bucket the metadata plus the invocation ``payload`` (the
  records), one object per batch.

Not emulated: BisectBatchOnFunctionError, FilterCriteria, MaximumRecordAgeInSeconds, batching windows,
ParallelizationFactor. moto clears its shard buffer once the batch is handed over, so the stream's
GetRecords API does not return records of a table that has a mapping (moto's own behaviour).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.models import LambdaBackend
from moto.core.utils import unix_time
from moto.s3.models import s3_backends
from moto.sqs.models import sqs_backends

from localmode.moto_patches import lambda_ as moto_lambda
from localmode.moto_patches.patch import PatchSet
from localmode.worker_queue import wait_drained

LOG = logging.getLogger(__name__)
DEFAULT_RETRIES = 3
RETRY_DELAY_SECONDS = 0.2

Batch = tuple[LambdaBackend, str, str, list[dict[str, Any]]]  # backend, function ARN, stream ARN, records


def records_to_retry(records: list[dict[str, Any]], response: Any, failed: bool,
                     report_failures: bool) -> list[dict[str, Any]]:
    """The records still to deliver after one invocation ([] when the batch is done)."""
    if failed:
        return records
    if not report_failures or not isinstance(response, dict) or not response.get("batchItemFailures"):
        return []
    sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in records]
    failed_at = []
    for failure in response["batchItemFailures"]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in sequence_numbers:
            return records  # AWS treats a malformed answer as a failure of the whole batch
        failed_at.append(sequence_numbers.index(identifier))
    return records[min(failed_at):]


def _lambda_record(item: Any, region: str, source: str) -> dict[str, Any]:
    record = item.to_json()
    dynamodb = dict(record["dynamodb"])
    if isinstance(dynamodb.get("ApproximateCreationDateTime"), datetime):
        dynamodb["ApproximateCreationDateTime"] = unix_time(dynamodb["ApproximateCreationDateTime"])
    return {"eventID": record["eventID"], "eventName": record["eventName"], "eventVersion": record["eventVersion"],
            "eventSource": record["eventSource"], "awsRegion": region, "dynamodb": dynamodb,
            "eventSourceARN": source}


class StreamDelivery:
    """The queue and the worker thread that drains it."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Batch | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="stream-delivery", daemon=True)
        self._worker.start()

    def submit(self, backend: LambdaBackend, function_arn: str, items: list[Any], source: str) -> bytes:
        """moto's hook: queue the records; the truthy answer tells moto they were handed over."""
        records = [_lambda_record(item, backend.region_name, source) for item in items]
        self._queue.put((backend, function_arn, source, records))
        return b"queued"

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued record was delivered or given up (tests); False on timeout."""
        return wait_drained(self._queue, timeout)

    def stop(self) -> None:
        """Finish the batch in progress and stop the worker."""
        self._queue.put(None)
        self._worker.join(timeout=30)

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            try:
                self._deliver(*batch)
            except Exception:
                LOG.exception("Stream delivery failed")
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _deliver(self, backend: LambdaBackend, function_arn: str, source: str, records: list[dict[str, Any]]) -> None:
        mapping = next((esm for esm in backend.list_event_source_mappings(source, "")
                        if esm.function_arn == function_arn), None)
        if mapping is None or not mapping.enabled:
            return  # deleted or disabled since the write: Lambda would not read the stream
        size = int(mapping.batch_size or 100)
        for start in range(0, len(records), size):
            self._deliver_batch(backend, mapping, records[start:start + size])

    def _deliver_batch(self, backend: LambdaBackend, mapping: Any, records: list[dict[str, Any]]) -> None:
        retries = mapping.max_retry_attempts
        retries = DEFAULT_RETRIES if retries is None or int(retries) < 0 else int(retries)
        report = "ReportBatchItemFailures" in (mapping.function_response_types or [])
        function = backend.get_function(mapping.function_arn)
        for attempt in range(retries + 1):
            headers: dict[str, str] = {}
            payload = function.invoke(json.dumps({"Records": records}), {}, headers)
            failed = "x-amz-function-error" in headers
            try:
                response = json.loads(payload) if payload else None
            except ValueError:
                response = None
            records = records_to_retry(records, response, failed, report)
            if not records:
                return
            if attempt < retries:
                time.sleep(RETRY_DELAY_SECONDS * 2**attempt)
        LOG.warning("Stream records skipped after %s retries: %s", retries, mapping.function_arn)
        _send_to_failure_destination(mapping, records, retries + 1)


def _send_to_failure_destination(mapping: Any, records: list[dict[str, Any]], attempts: int) -> None:
    destination = ((mapping.destination_config or {}).get("OnFailure") or {}).get("Destination")
    if not destination or destination.split(":")[2] not in ("sqs", "s3"):
        return
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    message = {
        "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": mapping.function_arn,
                           "condition": "RetryAttemptsExhausted", "approximateInvokeCount": attempts},
        "version": "1.0", "timestamp": datetime.now(UTC).isoformat(),
        "DDBStreamBatchInfo": {"shardId": "local", "startSequenceNumber": first["SequenceNumber"],
                               "endSequenceNumber": last["SequenceNumber"], "batchSize": len(records),
                               "streamArn": mapping.event_source_arn},
    }
    if destination.split(":")[2] == "s3":
        # AWS documents that S3 destinations also receive the invocation record (the records);
        # the object key is this emulator's own (AWS's naming is not relied on by the redrive).
        account = mapping.function_arn.split(":")[4]
        key = f"aws/lambda/{mapping.uuid}/{first['SequenceNumber']}-{uuid.uuid4()}.json"
        document = {**message, "payload": {"Records": records}}
        s3_backends[account]["aws"].put_object(destination.split(":")[-1], key, json.dumps(document).encode())
        return
    _, _, _, region, account, queue_name = destination.split(":")
    sqs_backends[account][region].send_message(queue_name, json.dumps(message))


_active: StreamDelivery | None = None


def install() -> Callable[[], None]:
    """Queue moto's stream deliveries (see the module docstring); return the undo function."""
    global _active
    delivery, patches = StreamDelivery(), PatchSet()
    moto_lambda.route_stream_records(patches, delivery.submit)
    _active = delivery

    def uninstall() -> None:
        global _active
        patches.undo()
        delivery.stop()
        _active = None

    return uninstall


def wait_idle(timeout: float = 10.0) -> bool:
    """Wait until the installed delivery has nothing in flight (True when nothing is installed)."""
    return _active.wait_idle(timeout) if _active else True
