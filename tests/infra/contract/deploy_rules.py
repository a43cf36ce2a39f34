"""Contract rules for what only a real account enforces at deployment: protection of
stateful resources, the account-level API Gateway logging role, state encryption with the
bootstrap key, and the order a first deployment into an empty account runs in.

Each rule is a pure function over the synthesized stacks (`{stack name: cdk.tf.json}`)
returning problems, one string per broken setting naming the stack, the resource, the
setting and the AWS behaviour it breaks. The AWS behaviour each rule relies on is cited
next to it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

Stacks = Mapping[str, dict[str, Any]]

BOOTSTRAP = "bootstrap"
# Deployment order of a workspace's layers (README "Layers"); bootstrap precedes them all.
LAYER_ORDER = ("security", "network", "data", "app", "observability")
PROTECTED_WORKSPACES = ("staging", "prod")  # WorkspaceSettings.is_production_like

# Stateful resource types and their own deletion-protection attribute, if AWS has one.
# Terraform: `prevent_destroy` makes any plan that would destroy the resource fail
# ("The lifecycle Meta-Argument"). DynamoDB: "deletion protection ... the table can't be
# deleted" (DeleteTable fails while DeletionProtectionEnabled). KMS: deleting a key makes
# "all data that was encrypted under the KMS key ... unrecoverable" (Deleting AWS KMS keys),
# so a key is as stateful as everything it encrypts. SQS: a dead-letter queue holds the
# only copy of a failed event. S3: buckets hold state, code and the audit archive.
STATEFUL: dict[str, str | None] = {
    "aws_dynamodb_table": "deletion_protection_enabled",
    "aws_s3_bucket": None,
    "aws_kms_key": None,
    "aws_sqs_queue": None,
}
# Log groups holding audit data kept nowhere else: VPC flow logs. (API access logs are
# also archived to the protected log bucket through Firehose; function and workflow logs
# are operational and bounded by their retention.)
AUDIT_LOG_GROUP_PREFIXES = ("/vpc/",)

# Data sources that read the caller's own context, not something a deployment creates.
AMBIENT_DATA_SOURCES = frozenset({
    "aws_caller_identity", "aws_partition", "aws_region", "aws_availability_zones", "aws_iam_policy_document",
})

# Terraform's S3 backend: with `encrypt` and `kms_key_id` set, PutObject sends
# `x-amz-server-side-encryption: aws:kms` and `x-amz-server-side-encryption-aws-kms-key-id:
# <kms_key_id>`; with `encrypt` alone it sends `AES256` (SSE-S3)
# (hashicorp/terraform internal/backend/remote-state/s3/client.go, RemoteClient.PutObject).
SSE = "s3:x-amz-server-side-encryption"
SSE_KEY = "s3:x-amz-server-side-encryption-aws-kms-key-id"


def workspace_of(stack: str) -> str | None:
    return None if stack == BOOTSTRAP else stack.split("-", 1)[0]


def layer_of(stack: str) -> str:
    return stack.split("-", 1)[1]


def path_of(config: dict[str, Any]) -> str:
    return str(config.get("//", {}).get("metadata", {}).get("path", "?"))


def resources(stack: dict[str, Any], rtype: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, config) of every resource of one type."""
    yield from stack.get("resource", {}).get(rtype, {}).items()


def is_emulated(stack: dict[str, Any]) -> bool:
    return any("endpoints" in provider for provider in stack.get("provider", {}).get("aws", []))


# --- rule: stateful resources are protected outside dev and local -----------------------------

def unprotected_stateful_resources(stacks: Stacks) -> list[str]:
    """Every stateful resource of staging, prod and the (real-account) bootstrap has
    `prevent_destroy`, and deletion protection where the resource type has one."""
    problems: list[str] = []
    for name, stack in sorted(stacks.items()):
        protected = workspace_of(name) in PROTECTED_WORKSPACES or (name == BOOTSTRAP and not is_emulated(stack))
        if not protected:
            continue
        candidates = [(rtype, config, attribute) for rtype, attribute in STATEFUL.items()
                      for _id, config in resources(stack, rtype)]
        candidates += [("aws_cloudwatch_log_group", config, None)
                       for _id, config in resources(stack, "aws_cloudwatch_log_group")
                       if str(config.get("name", "")).startswith(AUDIT_LOG_GROUP_PREFIXES)]
        for rtype, config, attribute in candidates:
            if config.get("lifecycle", {}).get("prevent_destroy") is not True:
                problems.append(f"{name}: {rtype} {path_of(config)} has no lifecycle.prevent_destroy; stateful "
                                "resources are protected outside dev and local")
            if attribute and config.get(attribute) is not True:
                problems.append(f"{name}: {rtype} {path_of(config)} has {attribute}={config.get(attribute)!r}; "
                                "allowed: true outside dev and local")
    return problems


# --- rule: every REST stage that logs depends on the account logging role ---------------------

# The actions of AmazonAPIGatewayPushToCloudWatchLogs, the policy AWS documents for the role
# (AWS Managed Policy reference, policy version v1).
PUSH_TO_CLOUDWATCH_LOGS = frozenset({
    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams",
    "logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents",
})


def _granted_actions(policy: str) -> set[str]:
    return {action for statement in json.loads(policy).get("Statement", []) if statement.get("Effect") == "Allow"
            for action in _as_list(statement.get("Action"))}


def _account_logging_role_names(bootstrap: dict[str, Any]) -> set[str]:
    """Names of the roles bootstrap sets as API Gateway's CloudWatch role, provided the
    setting is written only after the role holds what AWS documents for it ("Set up
    CloudWatch logging for REST APIs in API Gateway": a role trusted by
    apigateway.amazonaws.com with the permissions of AmazonAPIGatewayPushToCloudWatchLogs;
    API Gateway checks them when the setting is written)."""
    roles = {f"${{aws_iam_role.{rid}.arn}}": (rid, config) for rid, config in resources(bootstrap, "aws_iam_role")}
    policies = {f"aws_iam_role_policy.{pid}": config for pid, config in resources(bootstrap, "aws_iam_role_policy")
                if _granted_actions(config.get("policy", "{}")) >= PUSH_TO_CLOUDWATCH_LOGS}
    policies |= {f"aws_iam_role_policy_attachment.{aid}": config
                 for aid, config in resources(bootstrap, "aws_iam_role_policy_attachment")
                 if config.get("policy_arn", "").endswith(":policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")}
    names = set()
    for _id, account in resources(bootstrap, "aws_api_gateway_account"):
        role = roles.get(account.get("cloudwatch_role_arn", ""))
        if role is None:
            continue
        rid, config = role
        trusted = "apigateway.amazonaws.com" in config.get("assume_role_policy", "")
        granted = [d for d in account.get("depends_on", []) if d in policies
                   and policies[d].get("role") in (f"${{aws_iam_role.{rid}.name}}", f"${{aws_iam_role.{rid}.id}}")]
        if trusted and granted:
            names.add(str(config["name"]))
    return names


def _role_checks(stack: dict[str, Any], role_names: set[str]) -> set[str]:
    """References (`data.aws_iam_roles.<id>`) of lookups that fail the plan unless one of
    `role_names` exists (exact-name regex plus a postcondition on the result)."""
    found = set()
    for did, config in stack.get("data", {}).get("aws_iam_roles", {}).items():
        exact = {f"^{re.escape(n)}$" for n in role_names} | {f"^{n}$" for n in role_names}
        postconditions = config.get("lifecycle", {}).get("postcondition", [])
        if config.get("name_regex") in exact and any("length(self.names)" in str(p.get("condition"))
                                                       for p in postconditions):
            found.add(f"data.aws_iam_roles.{did}")
    return found


def _logging_stages(stack: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(resource reference, what logs, config) of every REST stage and method setting that
    logs: access logs on the stage, or execution logs (logging_level other than OFF, or
    full request/response data tracing) in method settings."""
    for sid, config in resources(stack, "aws_api_gateway_stage"):
        if config.get("access_log_settings"):
            yield f"aws_api_gateway_stage.{sid}", "access logs", config
    for mid, config in resources(stack, "aws_api_gateway_method_settings"):
        settings = config.get("settings", {})
        if settings.get("logging_level", "OFF") != "OFF" or settings.get("data_trace_enabled"):
            yield (f"aws_api_gateway_method_settings.{mid}",
                   f"execution logs (logging_level {settings.get('logging_level')})", config)


def logging_stages_without_account_role(stacks: Stacks) -> list[str]:
    """A REST stage may log only once API Gateway holds its account-level CloudWatch role
    ("To enable CloudWatch Logs, you must grant API Gateway permission to read and write
    logs to CloudWatch for your account", Set up CloudWatch logging for REST APIs; one
    AWS::ApiGateway::Account per region per account). Bootstrap creates it; every stage and
    method setting that logs must depend on a lookup of it that fails the plan when absent.
    HTTP APIs deliver access logs without that role ("Configuring logging for an HTTP
    API"), so `aws_apigatewayv2_stage` is not concerned."""
    bootstrap = stacks.get(BOOTSTRAP, {})
    role_names = _account_logging_role_names(bootstrap)
    problems: list[str] = []
    if not role_names:
        problems.append(f"{BOOTSTRAP}: no aws_api_gateway_account sets a role trusted by apigateway.amazonaws.com "
                        "that holds the AmazonAPIGatewayPushToCloudWatchLogs actions before the setting is written")
    for name, stack in sorted(stacks.items()):
        checks = _role_checks(stack, role_names)
        for reference, logs, config in _logging_stages(stack):
            if not checks & set(config.get("depends_on", [])):
                problems.append(f"{name}: {reference} ({path_of(config)}) enables {logs} but does not depend on "
                                f"a lookup of the account logging role {sorted(role_names)} created by bootstrap")
    return problems


# --- rule: remote state is encrypted with the bootstrap key, and only with it -----------------

def _state_key_aliases(bootstrap: dict[str, Any]) -> set[str]:
    """Alias names bootstrap gives the key that encrypts the state bucket by default."""
    keys = {f"${{aws_kms_key.{kid}.key_id}}": f"${{aws_kms_key.{kid}.arn}}"
            for kid, _config in resources(bootstrap, "aws_kms_key")}
    defaults = {rule["apply_server_side_encryption_by_default"].get("kms_master_key_id")
                for _id, config in resources(bootstrap, "aws_s3_bucket_server_side_encryption_configuration")
                for rule in _as_list(config.get("rule"))}
    return {str(config["name"]) for _id, config in resources(bootstrap, "aws_kms_alias")
            if keys.get(config.get("target_key_id", "")) in defaults}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value else []


def backends_without_state_key(stacks: Stacks) -> list[str]:
    """Every S3 backend sets `encrypt` and `kms_key_id` to the bootstrap state key's alias:
    without `kms_key_id` the backend asks for SSE-S3 (AES256) (Terraform S3 backend
    client.go). The backend block cannot reference resources and the account id is not
    known at synth time, so the alias name is the identifier (the S3 backend accepts
    "alias/..." in kms_key_id, validate.go; PutObject accepts "Key ID, Key ARN, or Key
    Alias" in x-amz-server-side-encryption-aws-kms-key-id)."""
    aliases = _state_key_aliases(stacks.get(BOOTSTRAP, {}))
    problems: list[str] = []
    for name, stack in sorted(stacks.items()):
        backend = stack.get("terraform", {}).get("backend", {}).get("s3")
        if backend is None:
            continue
        if backend.get("encrypt") is not True:
            problems.append(f"{name}: backend s3 encrypt={backend.get('encrypt')!r}; allowed: true")
        if backend.get("kms_key_id") not in aliases:
            problems.append(f"{name}: backend s3 kms_key_id={backend.get('kms_key_id')!r}; allowed: the bootstrap "
                            f"state key alias {sorted(aliases)} (without it state is SSE-S3, not the bootstrap key)")
    return problems


def _condition_holds(condition: dict[str, Any], request: dict[str, str]) -> bool:
    """IAM condition evaluation for the operators the state bucket policy uses: operators
    and keys ANDed, several values of one key ORed, of a negated operator NORed ("Conditions
    with multiple context keys or values", IAM User Guide); a key absent from the request
    makes a negated operator true and any other false, `Null` tests presence ("IAM JSON
    policy elements: Condition operators")."""
    for operator, keys in condition.items():
        for key, expected in keys.items():
            values = [str(v) for v in _as_list(expected)]
            present = key in request
            if operator == "Null":
                holds = (not present) if values == ["true"] else present
            elif operator == "StringEquals":
                holds = present and request[key] in values
            elif operator == "StringNotEquals":
                holds = (not present) or request[key] not in values
            else:
                return False  # unknown operator: not evaluated here (the rule then reports a gap)
            if not holds:
                return False
    return True


def put_object_denied(policy: dict[str, Any], request: dict[str, str]) -> bool:
    """Whether a Deny statement on s3:PutObject applies to an upload with these headers."""
    return any(s.get("Effect") == "Deny" and "s3:PutObject" in _as_list(s.get("Action"))
               and _condition_holds(s.get("Condition", {}), request) for s in policy.get("Statement", []))


def state_bucket_accepts_other_encryption(stacks: Stacks) -> list[str]:
    """The state bucket refuses every upload that asks for other encryption than the
    bootstrap key (SSE-S3, SSE-KMS with another key, or SSE-KMS without a key id, which
    S3 serves with the AWS managed key aws/s3: PutObject, Amazon S3 API Reference) and
    accepts exactly what the backends send. Uploads without headers get the bucket's
    default, the bootstrap key, and cannot be denied because multipart UploadPart requests
    carry no encryption header. Skipped where bootstrap runs in the emulator (no
    conditional policies there: config.LOCAL_DIFFERENCES["s3_guard_policies"])."""
    bootstrap = stacks.get(BOOTSTRAP)
    if bootstrap is None or is_emulated(bootstrap):
        return []
    buckets = {f"${{aws_s3_bucket.{bid}.id}}": config for bid, config in resources(bootstrap, "aws_s3_bucket")}
    backend_keys = {stack["terraform"]["backend"]["s3"].get("kms_key_id") for stack in stacks.values()
                    if "s3" in stack.get("terraform", {}).get("backend", {}) and not is_emulated(stack)}
    problems: list[str] = []
    state = [(bid, config) for bid, config in resources(bootstrap, "aws_s3_bucket_policy")
             if str(buckets.get(config.get("bucket", ""), {}).get("bucket", "")).find("tfstate") >= 0
             and not str(buckets[config["bucket"]]["bucket"]).endswith("-logs")]
    if not state:
        return [f"{BOOTSTRAP}: the state bucket has no bucket policy refusing uploads without the bootstrap key"]
    for _id, config in state:
        policy = json.loads(config["policy"])
        for key_id in sorted(k for k in backend_keys if k):
            if put_object_denied(policy, {SSE: "aws:kms", SSE_KEY: key_id}):
                problems.append(f"{BOOTSTRAP}: state bucket policy denies the backends' own upload "
                                f"(aws:kms with {key_id})")
        refused = {"SSE-S3 (what `encrypt` alone sends)": {SSE: "AES256"},
                   "SSE-KMS with another key": {SSE: "aws:kms", SSE_KEY: "alias/aws/s3"},
                   "SSE-KMS without a key id (aws/s3)": {SSE: "aws:kms"},
                   "DSSE-KMS": {SSE: "aws:kms:dsse"}}
        for what, request in refused.items():
            if not put_object_denied(policy, request):
                problems.append(f"{BOOTSTRAP}: state bucket policy accepts uploads asking for {what}; allowed: "
                                "only SSE-KMS with the bootstrap state key")
    return problems


# --- rule: a first deployment into an empty account runs in dependency order ------------------

def _remote_state_layers(stack: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for config in stack.get("data", {}).get("terraform_remote_state", {}).values():
        key = str(config.get("config", {}).get("key", ""))  # {project}/{workspace}/{layer}.tfstate
        parts = key.removesuffix(".tfstate").split("/")
        yield (parts[-2], parts[-1]) if len(parts) >= 2 else ("?", key)


def first_deployment_out_of_order(stacks: Stacks) -> list[str]:
    """Deployed in order (bootstrap, then each workspace's layers in LAYER_ORDER) into an
    empty account, every stack finds what it reads: remote state only of an existing,
    earlier layer of its own workspace (terraform_remote_state fails when the state object
    does not exist), and no lookup (data source) of anything that neither bootstrap nor an
    earlier layer creates (a data source that finds nothing fails the plan)."""
    problems: list[str] = []
    bootstrap_roles = {str(c.get("name")) for _i, c in resources(stacks.get(BOOTSTRAP, {}), "aws_iam_role")}
    # The `ci` stack looks up the state key by the alias bootstrap gives it.
    bootstrap_aliases = {str(c.get("name")) for _i, c in resources(stacks.get(BOOTSTRAP, {}), "aws_kms_alias")}
    for name, stack in sorted(stacks.items()):
        workspace = workspace_of(name)
        for source_workspace, layer in _remote_state_layers(stack):
            earlier = workspace is not None and layer in LAYER_ORDER and layer_of(name) in LAYER_ORDER \
                and LAYER_ORDER.index(layer) < LAYER_ORDER.index(layer_of(name))
            if source_workspace != workspace or not earlier or f"{workspace}-{layer}" not in stacks:
                problems.append(f"{name}: reads the remote state of {source_workspace}-{layer}, which is not an "
                                "existing earlier layer of its workspace")
        for dtype, sources in stack.get("data", {}).items():
            if dtype in AMBIENT_DATA_SOURCES or dtype == "terraform_remote_state":
                continue
            for config in sources.values():
                regex = str(config.get("name_regex", ""))
                if dtype == "aws_iam_roles" and any(re.fullmatch(regex, r) for r in bootstrap_roles):
                    continue
                if dtype == "aws_kms_alias" and config.get("name") in bootstrap_aliases:
                    continue
                problems.append(f"{name}: data source {dtype} {path_of(config)} looks up something that neither "
                                "bootstrap nor an earlier layer creates")
    return problems


RULES = (unprotected_stateful_resources, logging_stages_without_account_role, backends_without_state_key,
         state_bucket_accepts_other_encryption, first_deployment_out_of_order)
