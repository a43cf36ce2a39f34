"""Replay stream batches the event source mapping gave up on: ``python -m handlers.stream.redrive``.

The mapping retries a failing batch a bounded number of times (a poison record must not block its
shard for the stream's 24 h retention), then writes it to its Amazon S3 on-failure destination:
for S3, Lambda writes the invocation record *with* the batch's records, where SQS and SNS
destinations receive metadata only (AWS Lambda guide, "Retain discarded records for a DynamoDB
event source in Lambda"). The records are therefore recoverable for as long as the bucket keeps
them, not only while the stream does.

This command reads every object under ``--prefix`` in ``--bucket``, invokes the consumer (its
``live`` alias) synchronously with the object's records, exactly as the mapping would, and deletes
the object once the consumer took every record (no function error, no ``batchItemFailures``).
A batch that fails again stays where it is. Subscribers deduplicate on ``event_id``, so a replayed
record that had been published before is harmless (at-least-once).

    python -m handlers.stream.redrive --bucket serverless-app-prod-stream-failures-<account> \\
        --function serverless-app-prod-stream-consumer:live [--dry-run] [--endpoint-url URL]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3


class NotAFailureRecord(ValueError):
    """An object that holds no replayable batch."""


def batch_records(document: Any) -> list[dict[str, Any]]:
    """The stream records of one on-failure invocation record (``payload``: the invocation
    event, as an object or as its JSON text)."""
    payload = document.get("payload") if isinstance(document, dict) else None
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError as err:
            raise NotAFailureRecord(f"payload is not JSON: {err}") from None
    records = payload.get("Records") if isinstance(payload, dict) else None
    if not isinstance(records, list) or not records:
        raise NotAFailureRecord("no payload.Records: not an S3 on-failure record of a stream batch")
    return records


def consumer_took_all(function_error: str | None, response: Any) -> bool:
    """True when the consumer neither failed nor reported any record for retry."""
    if function_error:
        return False
    return not (isinstance(response, dict) and response.get("batchItemFailures"))


@dataclass
class Outcome:
    """What one run did, object key by object key."""

    replayed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class Redrive:
    """Replays the batches under one prefix of the failure bucket into one function."""

    s3: Any
    lambda_: Any
    bucket: str
    function: str
    prefix: str = ""

    def keys(self) -> Iterator[str]:
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for entry in page.get("Contents", []):
                yield str(entry["Key"])

    def run(self, *, dry_run: bool = False) -> Outcome:
        outcome = Outcome()
        for key in self.keys():
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            try:
                records = batch_records(json.loads(body))
            except ValueError as err:  # NotAFailureRecord, or not JSON at all
                outcome.skipped[key] = str(err)
                continue
            if dry_run:
                outcome.skipped[key] = f"dry run: {len(records)} records"
                continue
            problem = self._replay(records)
            if problem:
                outcome.failed[key] = problem
                continue
            self.s3.delete_object(Bucket=self.bucket, Key=key)
            outcome.replayed.append(key)
        return outcome

    def _replay(self, records: list[dict[str, Any]]) -> str | None:
        answer = self.lambda_.invoke(FunctionName=self.function, InvocationType="RequestResponse",
                                     Payload=json.dumps({"Records": records}).encode())
        text = answer["Payload"].read()
        try:
            response = json.loads(text) if text else None
        except ValueError:
            response = None
        if consumer_took_all(answer.get("FunctionError"), response):
            return None
        return f"consumer did not take the batch: {answer.get('FunctionError') or response}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handlers.stream.redrive", description=__doc__.split("\n")[0])
    parser.add_argument("--bucket", required=True, help="the stream failure bucket (data stack output)")
    parser.add_argument("--function", required=True, help="the consumer, e.g. <project>-<ws>-stream-consumer:live")
    parser.add_argument("--prefix", default="", help="only objects under this key prefix")
    parser.add_argument("--dry-run", action="store_true", help="list what would be replayed, change nothing")
    parser.add_argument("--endpoint-url", default=None, help="AWS endpoint (the local emulator)")
    args = parser.parse_args(argv)
    redrive = Redrive(s3=boto3.client("s3", endpoint_url=args.endpoint_url),
                      lambda_=boto3.client("lambda", endpoint_url=args.endpoint_url),
                      bucket=args.bucket, function=args.function, prefix=args.prefix)
    outcome = redrive.run(dry_run=args.dry_run)
    for key in outcome.replayed:
        print(f"replayed and deleted: {key}")
    for key, reason in outcome.skipped.items():
        print(f"skipped: {key}: {reason}")
    for key, reason in outcome.failed.items():
        print(f"FAILED (kept): {key}: {reason}", file=sys.stderr)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
