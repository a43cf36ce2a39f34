"""The statements of one CI role of one workspace, each with a Sid whose reason is in
`STATE_REASONS` / `SCOPE_REASONS` (and, per statement, the resource types that need it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from modules.ci_permissions import SCOPES, SERVICE_LINKED_ROLES, needs_of

STATE_REASONS: dict[str, str] = {
    "StateList": "terraform init lists the state bucket (workspaces); without it S3 answers a missing state with 403",
    "StateRead": "the workspace's state objects: its own stacks' and the upstream stacks' that terraform_remote_state "
                 "reads",
    "StateWrite": "apply writes the state of the workspace's own stacks",
    "StateLock": "S3-native locking (use_lockfile, Terraform >= 1.10): the lock is created with PutObject, read back "
                 "with GetObject before it is released, and released with DeleteObject",
    "StateKey": "the state bucket's KMS key: reading state and lock objects (Decrypt), writing them (GenerateDataKey)",
    "ServiceLinkedRole": "a first apply in a fresh account: the service creates its service-linked role as the caller",
}
SCOPE_REASONS: dict[str, str] = {
    "*": "actions without resource-level permissions (Describe/List, creates of random-id resources)",
    "apigateway": "the REST API, its key and usage plan; GET returns the API key value, which refresh reads into "
                  "state (a plan role can read the key: docs/delivery.md)",
    "http_apis": "the HTTP API variant (API_KIND=http)", "api_domains": "the custom API domain and its mapping",
    "alarms": "the workspace's alarms", "dashboards": "the workspace's dashboard", "events": "the workspace's rules",
    "logs": "the workspace's log groups (names contain the prefix)", "codedeploy": "the rollout application and groups",
    "deployment_configs": "CodeDeploy reads the deployment config of a deployment",
    "dynamodb": "table settings only (no item reads)", "ec2": "the VPC resources (random ids: account and region)",
    "firehose": "the access-log archive stream", "roles": "the workspace's roles (and PassRole to its services)",
    "keys": "workspace key metadata and grants (no Decrypt)", "aliases": "the workspace key's alias",
    "functions": "the workspace's functions, versions and aliases", "layers": "the dependencies layer",
    "mappings": "the stream event source mapping",
    "buckets": "bucket settings only (no object reads of the log, archive or stream-failure buckets)",
    "code_objects": "the function zips in the code bucket: refresh reads their metadata (s3:GetObject), Lambda "
                    "reads them as the caller on create",
    "state_machines": "the jobs state machine", "topics": "the workspace's topics (no message access)",
    "queues": "queue settings only (no ReceiveMessage)", "web_acls": "the API's web ACL (prod)",
}


@dataclass(frozen=True)
class CiPolicyInputs:
    partition: str
    account: str
    region: str
    prefix: str  # `{project}-{workspace}`
    state_bucket: str
    state_key_arn: str
    state_prefix: str  # `{project}/{workspace}/`
    types: frozenset[str]
    layers: tuple[str, ...]


def sid(kind: str, scope: str) -> str:
    words = re.split(r"[^a-z0-9]+", scope.replace("*", "any"))
    return kind.capitalize() + "".join(word.capitalize() for word in words)


def _statement(sid_: str, actions: list[str], resources: list[str], condition: dict[str, Any] | None = None
               ) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid_, "Effect": "Allow", "Action": sorted(set(actions)),
                                 "Resource": sorted(resources)}
    if condition:
        statement["Condition"] = condition
    return statement


def state_statements(inputs: CiPolicyInputs, kind: str) -> list[dict[str, Any]]:
    bucket = f"arn:{inputs.partition}:s3:::{inputs.state_bucket}"
    keys = [f"{bucket}/{inputs.state_prefix}{layer}.tfstate" for layer in inputs.layers]
    statements = [_statement("StateList", ["s3:ListBucket"], [bucket]),
                  _statement("StateRead", ["s3:GetObject"], keys),
                  _statement("StateLock", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                             [f"{key}.tflock" for key in keys]),
                  _statement("StateKey", ["kms:Decrypt", "kms:GenerateDataKey"], [inputs.state_key_arn])]
    if kind == "deploy":
        statements.insert(2, _statement("StateWrite", ["s3:PutObject"], keys))
    return statements


def scope_arns(inputs: CiPolicyInputs, scope: str) -> list[str]:
    return [pattern.format(p=inputs.partition, r=inputs.region, a=inputs.account, n=inputs.prefix)
            for pattern in SCOPES[scope]]


def role_statements(inputs: CiPolicyInputs, kind: str) -> list[dict[str, Any]]:
    """Every statement of the `kind` ("plan" or "deploy") role of one workspace."""
    by_scope: dict[str, list[str]] = {}
    for action, scope in needs_of(set(inputs.types), kind):
        by_scope.setdefault(scope, []).append(action)
    statements = state_statements(inputs, kind)
    statements += [_statement(sid(kind, scope), actions, scope_arns(inputs, scope))
                   for scope, actions in sorted(by_scope.items())]
    if kind == "deploy":
        for rtype, (service, role) in sorted(SERVICE_LINKED_ROLES.items()):
            if rtype in inputs.types:
                arn = f"arn:{inputs.partition}:iam::{inputs.account}:role/aws-service-role/{service}/{role}"
                statements.append(_statement(f"ServiceLinkedRole{role.removeprefix('AWSServiceRoleFor')}"
                                             .replace("_", ""), ["iam:CreateServiceLinkedRole"], [arn],
                                             {"StringEquals": {"iam:AWSServiceName": service}}))
    return statements
