"""Small helpers for IAM JSON documents, so every policy is written the same way.

Policies are plain JSON strings with Terraform references embedded; that keeps them
readable in the synthesized output and visible to checkov and the IAM tests.
"""

from __future__ import annotations

import json
from typing import Any

Statement = dict[str, Any]


def policy_document(*statements: Statement) -> str:
    """A policy document from statements, serialized deterministically."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def allow(actions: list[str], resources: list[str] | str, sid: str | None = None,
          condition: dict[str, Any] | None = None) -> Statement:
    """An Allow statement; actions are sorted so the output is stable."""
    statement: Statement = {"Effect": "Allow", "Action": sorted(set(actions)), "Resource": resources}
    if sid:
        statement["Sid"] = sid
    if condition:
        statement["Condition"] = condition
    return statement


def assume_role_policy(service: str, source_account: str | None = None, source_arn: str | None = None,
                       external_id: str | None = None) -> str:
    """Trust policy letting one AWS service assume a role. The optional conditions are the
    confused-deputy guards AWS documents per service: `aws:SourceAccount` (and an
    `aws:SourceArn` pattern) for services that send them, `sts:ExternalId` for those whose
    documentation uses it instead (Firehose delivering to S3)."""
    statement: Statement = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    equals = {key: value for key, value in (("aws:SourceAccount", source_account),
                                            ("sts:ExternalId", external_id)) if value}
    condition: dict[str, Any] = {"StringEquals": equals} if equals else {}
    if source_arn:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, sort_keys=True)


def deny_insecure_transport(resources: list[str], principal: Any = None, service: str = "s3") -> Statement:
    """The TLS-only guard every bucket and queue policy carries."""
    # {"AWS": "*"} is AWS's documented equivalent of "*" (every principal).
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": principal or {"AWS": "*"},
        "Action": f"{service}:*",
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
