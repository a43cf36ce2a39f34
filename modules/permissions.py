"""What each function's handler code calls, as IAM grants on named resources.

This is the one place to change when a handler starts calling a new AWS operation.
tests/infra/test_iam.py derives the calls from the handler code (a static scan of the
AWS adapter modules each entry point imports) and fails on a missing or unused grant.
"""

from __future__ import annotations

from modules.iam import Statement, allow

TABLE, IDEMPOTENCY_TABLE, STATE_MACHINE, EVENTS_TOPIC = "table", "idempotency_table", "state_machine", "events_topic"

_ITEMS = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]
_JOB_TRANSITIONS = ["dynamodb:UpdateItem"]  # handlers/shared/aws/job_transitions.py
_JOB_LOOKUP = ["dynamodb:GetItem", *_JOB_TRANSITIONS]  # job_lookup.py
_JOBS = ["dynamodb:PutItem", *_JOB_LOOKUP]  # jobs_repository.py
_DIGEST = ["dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
_IDEMPOTENCY = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]

# function -> resource -> actions
HANDLER_GRANTS: dict[str, dict[str, list[str]]] = {
    "api": {TABLE: _ITEMS + _JOBS, IDEMPOTENCY_TABLE: _IDEMPOTENCY, STATE_MACHINE: ["states:StartExecution"]},
    "validate": {},
    "process": {TABLE: _JOB_TRANSITIONS},
    "notify": {TABLE: _JOB_LOOKUP, EVENTS_TOPIC: ["sns:Publish"]},
    "mark-failed": {TABLE: _JOB_TRANSITIONS},
    "digest": {TABLE: _DIGEST, EVENTS_TOPIC: ["sns:Publish"]},
    "stream-consumer": {EVENTS_TOPIC: ["sns:Publish"]},
}


def handler_statements(function: str, resources: dict[str, list[str]]) -> list[Statement]:
    """Allow statements (Sid `Handler...`) for one function, on the ARNs in `resources`."""
    statements = []
    for resource, actions in sorted(HANDLER_GRANTS[function].items()):
        sid = "Handler" + "".join(part.title() for part in resource.split("_"))
        statements.append(allow(actions, resources[resource], sid=sid))
    return statements
