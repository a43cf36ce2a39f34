"""The one list of resource types whose destruction or replacement loses data or access.

A destroy or replace of any of these blocks the review (exit 3) unless its address is
allowed (`ALLOW_STATEFUL_CHANGES=<address>[,...]`, `*` for all, or the CI label). The
state bucket is an `aws_s3_bucket` (in `bootstrap`), so it is covered by that entry.
"""

from __future__ import annotations

from collections.abc import Iterable

STATEFUL_TYPES: dict[str, str] = {
    "aws_dynamodb_table": "DynamoDB table: its items",
    "aws_s3_bucket": "S3 bucket (code, logs, Terraform state): its objects",
    "aws_kms_key": "KMS key: everything encrypted with it",
    "aws_sqs_queue": "SQS queue (dead-letter queues): its messages",
    "aws_cloudwatch_log_group": "CloudWatch log group: its logs",
}

ALLOW_ALL = "*"


def is_stateful(resource_type: str) -> bool:
    return resource_type in STATEFUL_TYPES


def parse_allow(value: str | None) -> frozenset[str]:
    """`ALLOW_STATEFUL_CHANGES` as a set of addresses (empty entries ignored)."""
    return frozenset(part.strip() for part in (value or "").split(",") if part.strip())


def is_allowed(address: str, stack: str, allowed: Iterable[str]) -> bool:
    """An address is allowed by itself, as `<stack>:<address>`, or by `*`."""
    allowed = set(allowed)
    return bool({ALLOW_ALL, address, f"{stack}:{address}"} & allowed)
