"""Contract rules for what AWS services do on the product's behalf, outside the handlers'
code: EventBridge writing undeliverable events into encrypted dead-letter queues, and which
AWS calls cross the functions' network interfaces (so need an interface endpoint).

Pure functions over the synthesized stacks (`{stack name: cdk.tf.json}`) and facts derived
from the handlers (tests/infra/handler_scan.py), one problem string per broken setting; the
AWS behaviour each relies on is cited next to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

Stacks = Mapping[str, dict[str, Any]]

EVENTBRIDGE = "events.amazonaws.com"
# What SQS asks KMS for when a sender writes to a queue encrypted with a customer managed key
# (Amazon SQS developer guide, "Configure KMS permissions for AWS services").
SEND_KEY_ACTIONS = {"kms:GenerateDataKey", "kms:Decrypt"}
# Condition keys EventBridge's deliveries do not carry to KMS (Amazon SNS developer guide,
# "Key management": aws:SourceAccount and aws:SourceArn in a KMS key policy are "not
# supported for EventBridge-to-encrypted topics"; the SQS path is the same service-to-service
# call). A statement that requires one of them never matches.
ABSENT_SOURCE_KEYS = {"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths"}
# Services reached through a gateway endpoint (route tables), not an interface endpoint
# (Amazon VPC "Gateway endpoints": S3 and DynamoDB).
GATEWAY_SERVICES = {"dynamodb", "s3"}
# IAM action prefix -> the service name of its VPC endpoint (com.amazonaws.<region>.<name>).
ENDPOINT_OF_PREFIX = {"states": "states", "sns": "sns", "lambda": "lambda", "codedeploy": "codedeploy",
                      "sqs": "sqs", "kms": "kms", "logs": "logs", "xray": "xray"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allows(statement: Mapping[str, Any], service: str, actions: set[str]) -> bool:
    """The statement allows `service` every action in `actions` (wildcards `*` and suffix `*`)."""
    if statement.get("Effect") != "Allow":
        return False
    principals = _as_list((statement.get("Principal") or {}).get("Service", []))
    granted = [str(a) for a in _as_list(statement.get("Action", []))]

    def covers(action: str) -> bool:
        return any(g == action or g == "kms:*" or (g.endswith("*") and action.startswith(g[:-1])) for g in granted)

    return service in principals and all(covers(a) for a in actions)


def _condition_keys(statement: Mapping[str, Any]) -> set[str]:
    return {key.lower() for block in (statement.get("Condition") or {}).values() for key in block}


def _eventbridge_dlq_queues(data_stack: Mapping[str, Any]) -> list[str]:
    """Names of the queues whose policy lets EventBridge send to them (rule dead-letter queues)."""
    queues = {f"${{aws_sqs_queue.{logical}.url}}": str(queue["name"])
              for logical, queue in data_stack.get("resource", {}).get("aws_sqs_queue", {}).items()}
    found = []
    for policy in data_stack.get("resource", {}).get("aws_sqs_queue_policy", {}).values():
        document = json.loads(policy["policy"])
        if any(EVENTBRIDGE in _as_list((s.get("Principal") or {}).get("Service", [])) for s in document["Statement"]):
            found.append(queues.get(str(policy["queue_url"]), str(policy["queue_url"])))
    return sorted(found)


def dead_letter_key_problems(stacks: Stacks) -> list[str]:
    """Where EventBridge rules deliver undeliverable events to a queue encrypted with the
    workspace key, the key policy lets EventBridge generate and decrypt data keys without a
    condition its requests cannot meet. Otherwise SQS refuses each delivery (KMS
    AccessDenied), the event is dropped, and the queue's alarm never fires (EventBridge
    user guide, "Using dead-letter queues to process undelivered events")."""
    problems = []
    for stack_name, stack in sorted(stacks.items()):
        if not stack_name.endswith("-data"):
            continue
        queues = _eventbridge_dlq_queues(stack)
        encrypted = [q for q in queues if any(
            str(queue["name"]) == q and queue.get("kms_master_key_id")
            for queue in stack.get("resource", {}).get("aws_sqs_queue", {}).values())]
        if not encrypted:
            continue
        workspace = stack_name.removesuffix("-data")
        keys = stacks[f"{workspace}-security"].get("resource", {}).get("aws_kms_key", {}).values()
        statements = [s for key in keys for s in _as_list(json.loads(key["policy"])["Statement"])]
        usable = [s for s in statements
                  if _allows(s, EVENTBRIDGE, SEND_KEY_ACTIONS) and not _condition_keys(s) & ABSENT_SOURCE_KEYS]
        if not usable:
            conditioned = sorted({k for s in statements if _allows(s, EVENTBRIDGE, SEND_KEY_ACTIONS)
                                  for k in _condition_keys(s) & ABSENT_SOURCE_KEYS})
            why = (f"only under {', '.join(conditioned)}, which EventBridge's deliveries do not carry"
                   if conditioned else "not at all")
            problems.append(f"{workspace}-security: the key policy lets {EVENTBRIDGE} use the key {why}; the "
                            f"encrypted dead-letter queues {', '.join(encrypted)} never receive an event")
    return problems


def interface_endpoint_problems(stacks: Stacks, called_prefixes: Iterable[str]) -> list[str]:
    """A network with interface endpoints has one for every service the handlers' code calls
    (except those behind a gateway endpoint) and none other: an endpoint for what the Lambda
    service does on the function's behalf (log delivery, environment decryption,
    dead-letter writes, X-Ray) carries nothing and is billed per zone and hour (AWS
    PrivateLink pricing), while a missing one sends that call through the NAT, or nowhere.

    `called_prefixes`: the IAM prefixes of every action the handlers placed in the VPC call
    (handler_scan.handler_actions over the catalog)."""
    wanted = {ENDPOINT_OF_PREFIX[p] for p in called_prefixes if p not in GATEWAY_SERVICES}
    problems = []
    for stack_name, stack in sorted(stacks.items()):
        endpoints = [e for e in stack.get("resource", {}).get("aws_vpc_endpoint", {}).values()
                     if e.get("vpc_endpoint_type") == "Interface"]
        if not endpoints:
            continue
        present = {str(e["service_name"]).rsplit(".", 1)[1] for e in endpoints}
        problems += [f"{stack_name}: interface endpoint {s} carries no call of the handlers (billed per zone and "
                     "hour for nothing)" for s in sorted(present - wanted)]
        problems += [f"{stack_name}: no interface endpoint for {s}, which the handlers call"
                     for s in sorted(wanted - present)]
    return problems
