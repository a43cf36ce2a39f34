"""IAM proofs: no wildcards beyond a justified allow-list, and every function's role grants
exactly what its handler code calls (action AND resource) plus an explicit, justified list
of runtime grants. The allow-lists live here, not in the code under test.

`role_problems()` is the proof: required grants against granted statements -> problems.
It is tested in both directions on mutated documents, so a proof that cannot fail would
be noticed.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from typing import Any

import pytest

from modules.catalog import FUNCTIONS
from modules.ci import CI_STACK
from modules.config import WORKSPACES
from tests.infra.conftest import SETTINGS
from tests.infra.handler_scan import SETTING_RESOURCES, handler_actions, handler_grants
from tests.infra.synthesized import remote_ref, unique_id

Grant = tuple[str, str]  # (action, resource ARN or Terraform reference)

_XRAY = "X-Ray APIs have no resource-level permissions"
_ENI = "VPC functions: Lambda manages ENIs; EC2 network-interface actions take no resource ARN here"
_LOG_DELIVERY = "Step Functions vended log delivery: these CloudWatch Logs APIs take no resource ARN"

# Actions allowed on Resource "*" (and only these), each with its reason.
WILDCARD_ALLOW_LIST: dict[str, str] = {
    "xray:PutTraceSegments": _XRAY,
    "xray:PutTelemetryRecords": _XRAY,
    "xray:GetSamplingRules": _XRAY,
    "xray:GetSamplingTargets": _XRAY,
    "ec2:CreateNetworkInterface": _ENI,
    "ec2:DescribeNetworkInterfaces": _ENI,
    "ec2:DeleteNetworkInterface": _ENI,
    "ec2:AssignPrivateIpAddresses": _ENI,
    "ec2:UnassignPrivateIpAddresses": _ENI,
    "logs:CreateLogDelivery": _LOG_DELIVERY,
    "logs:GetLogDelivery": _LOG_DELIVERY,
    "logs:UpdateLogDelivery": _LOG_DELIVERY,
    "logs:DeleteLogDelivery": _LOG_DELIVERY,
    "logs:ListLogDeliveries": _LOG_DELIVERY,
    "logs:PutResourcePolicy": _LOG_DELIVERY,
    "logs:DescribeResourcePolicies": _LOG_DELIVERY,
    "logs:DescribeLogGroups": _LOG_DELIVERY,
}

# Grants a function role holds because of how the function runs, not because its code calls
# AWS: (action, resource kind) -> reason. Resource kinds are resolved per function below.
RUNTIME_GRANTS: dict[Grant, str] = {
    ("logs:CreateLogStream", "own_log_group"): "the Lambda runtime writes the function's own log group",
    ("logs:PutLogEvents", "own_log_group"): "the Lambda runtime writes the function's own log group",
    ("xray:PutTraceSegments", "*"): "active tracing (X-Ray has no resource-level permissions)",
    ("xray:PutTelemetryRecords", "*"): "active tracing (X-Ray has no resource-level permissions)",
    ("kms:Decrypt", "kms_key"): "environment variables are encrypted with the CMK (kms_key_arn); "
                                "SNS/SQS need it to use the CMK-encrypted topic and DLQ",
    ("kms:GenerateDataKey", "kms_key"): "sending to the CMK-encrypted DLQ and topic",
    ("sqs:SendMessage", "own_dlq"): "dead_letter_config targets the function's own DLQ",
}
VPC_GRANTS: dict[Grant, str] = {(action, "*"): reason for action, reason in WILDCARD_ALLOW_LIST.items()
                                if action.startswith("ec2:")}
# Poll-based event source mapping: Lambda reads the stream with the function's role.
STREAM_GRANTS: dict[str, dict[Grant, str]] = {
    "stream-consumer": {
        **{(action, "table_stream"): "the stream event source mapping reads with this role"
           for action in ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                          "dynamodb:ListStreams")},
        # AWS Lambda guide, "Retain discarded records for a DynamoDB event source in Lambda".
        ("s3:PutObject", "stream_failures/*"): "the mapping writes discarded batches to its S3 destination",
        ("s3:ListBucket", "stream_failures"): "the mapping's S3 on-failure destination needs it (AWS docs)",
    },
}
# Managed policies attached to any role, (role construct path, policy ARN) -> reason.
# (None: API Gateway's account-level CloudWatch role, created by bootstrap, carries the
# actions of AmazonAPIGatewayPushToCloudWatchLogs inline, scoped to the account's log groups.)
MANAGED_POLICY_ALLOW_LIST: dict[tuple[str, str], str] = {}



def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statement_grants(statements: Iterable[dict[str, Any]]) -> tuple[set[Grant], list[str]]:
    """The (action, resource) pairs a list of statements allows, and any statement shape
    the proof does not accept (Deny, NotAction/NotResource, conditions)."""
    grants: set[Grant] = set()
    problems = []
    for statement in statements:
        sid = statement.get("Sid", "?")
        if statement.get("Effect") != "Allow" or {"NotAction", "NotResource", "Condition"} & set(statement):
            problems.append(f"statement {sid}: only plain Allow statements are expected")
        grants |= {(action, resource) for action in as_list(statement.get("Action", []))
                   for resource in as_list(statement.get("Resource", []))}
    return grants, problems


def role_problems(role: str, required: dict[Grant, str], statements: Iterable[dict[str, Any]],
                  labels: dict[str, str] | None = None) -> list[str]:
    """The proof: every required grant is granted, and nothing else is."""
    labels = labels or {}
    granted, problems = statement_grants(statements)
    for action, resource in sorted(required.keys() - granted):
        problems.append(f"missing: {role}: {action} on {labels.get(resource, resource)} "
                        f"({required[(action, resource)]})")
    for action, resource in sorted(granted - required.keys()):
        problems.append(f"unused: {role}: {action} on {labels.get(resource, resource)}")
    return problems


# --- the synthesized resources a grant may name -----------------------------------------

def app_identity(synth, workspace: str) -> tuple[str, str]:
    """The ids of the app layer's own aws_partition and aws_caller_identity data sources."""
    data = synth.stack(f"{workspace}-app")["data"]

    def own(dtype: str, path: str) -> str:
        return next(uid for uid, cfg in data[dtype].items() if cfg["//"]["metadata"]["path"].endswith(f"/app/{path}"))

    return own("aws_partition", "partition"), own("aws_caller_identity", "caller")


def resource_arns(synth, workspace: str) -> dict[str, list[str]]:
    """Resource kind -> the ARNs (Terraform references) its grants must name."""
    partition, caller = app_identity(synth, workspace)
    table = remote_ref(synth, workspace, "data", "aws_dynamodb_table", "data/table", "arn")
    failures = remote_ref(synth, workspace, "data", "aws_s3_bucket", "data/stream_failure_bucket/bucket", "arn")
    prefix, region = f"arn:${{data.aws_partition.{partition}.partition}}", SETTINGS[workspace].region
    account = f"${{data.aws_caller_identity.{caller}.account_id}}"
    [application] = [app["name"] for app in synth.resources(f"{workspace}-app", "aws_codedeploy_app").values()]
    groups = [group["deployment_group_name"]
              for group in synth.resources(f"{workspace}-app", "aws_codedeploy_deployment_group").values()]
    machine = (f"arn:${{data.aws_partition.{partition}.partition}}:states:{SETTINGS[workspace].region}:"
               f"${{data.aws_caller_identity.{caller}.account_id}}:stateMachine:serverless-app-{workspace}-jobs")
    return {
        "table": [table, f"{table}/index/*"],  # GSI1 queries need the index ARN
        "idempotency_table": [remote_ref(synth, workspace, "data", "aws_dynamodb_table", "data/idempotency_table",
                                         "arn")],
        "events_topic": [remote_ref(synth, workspace, "data", "aws_sns_topic", "data/events_topic", "arn")],
        "state_machine": [machine],
        "table_stream": [remote_ref(synth, workspace, "data", "aws_dynamodb_table", "data/table", "stream_arn")],
        "stream_failures": [failures],
        "stream_failures/*": [f"{failures}/*"],
        "kms_key": [remote_ref(synth, workspace, "security", "aws_kms_key", "security/key", "arn")],
        # The pre-traffic hook: the workspace's deployment groups, and every version of the
        # functions they deploy (each group is named like its function: contract/rollout_rules.py).
        "deployment_groups": [f"{prefix}:codedeploy:{region}:{account}:deploymentgroup:{application}/{group}"
                              for group in groups],
        "rolled_out_versions": [f"{prefix}:lambda:{region}:{account}:function:{group}:*" for group in groups],
        "*": ["*"],
    }


def function_resources(synth, workspace: str, name: str) -> dict[str, list[str]]:
    path = name.replace("-", "_")
    log_group = unique_id(synth, f"{workspace}-app", "aws_cloudwatch_log_group", f"{path}/log_group")
    return {
        **resource_arns(synth, workspace),
        "own_log_group": [f"${{aws_cloudwatch_log_group.{log_group}.arn}}:*"],
        "own_dlq": [remote_ref(synth, workspace, "data", "aws_sqs_queue", f"data/dlq_{path}", "arn")],
    }


def required_grants(synth, workspace: str, name: str, handler: str) -> tuple[dict[Grant, str], dict[str, str]]:
    """What a function's role must grant, with reasons, and readable labels for the ARNs."""
    arns = function_resources(synth, workspace, name)
    scanned = handler_grants(handler)
    assert not scanned.unresolved, scanned.unresolved
    kinds: dict[Grant, str] = {grant: f"handler code calls it on the {grant[1]}" for grant in scanned.grants}
    kinds |= RUNTIME_GRANTS | STREAM_GRANTS.get(name, {})
    if SETTINGS[workspace].network.enabled:
        kinds |= VPC_GRANTS
    required = {(action, arn): reason for (action, kind), reason in kinds.items() for arn in arns[kind]}
    labels = {arn: kind + arn.removeprefix(values[0]) for kind, values in arns.items() for arn in values}
    return required, labels


def function_policy(synth, workspace: str, name: str) -> dict[str, Any]:
    return json.loads(synth.resource(f"{workspace}-app", "aws_iam_role_policy",
                                     f"{name.replace('-', '_')}/policy")["policy"])


def all_policies(synth):
    for stack in synth.stack_names():
        for path, role_policy in synth.resources(stack, "aws_iam_role_policy").items():
            yield stack, path, json.loads(role_policy["policy"])


# --- the proofs on the synthesized stacks -------------------------------------------------

def test_no_action_wildcards(synth):
    for stack, path, document in all_policies(synth):
        for statement in document["Statement"]:
            for action in as_list(statement["Action"]):
                assert action != "*" and not action.endswith(":*"), f"{stack}/{path}: {action}"


def test_resource_wildcard_only_for_allow_listed_actions(synth):
    for stack, path, document in all_policies(synth):
        for statement in document["Statement"]:
            if "*" in as_list(statement["Resource"]):
                unexpected = set(as_list(statement["Action"])) - set(WILDCARD_ALLOW_LIST)
                assert not unexpected, f"{stack}/{path}: {unexpected} on Resource *"
    assert all(reason for reason in WILDCARD_ALLOW_LIST.values())


@pytest.mark.parametrize("workspace", WORKSPACES)
@pytest.mark.parametrize("spec", FUNCTIONS, ids=[s.name for s in FUNCTIONS])
def test_role_grants_exactly_what_the_function_needs(synth, workspace, spec):
    """Every statement of the role, not only the handler ones: handler grants from the scan
    (action and resource) plus the runtime allow-list, nothing missing and nothing more."""
    required, labels = required_grants(synth, workspace, spec.name, spec.handler)
    statements = function_policy(synth, workspace, spec.name)["Statement"]
    problems = role_problems(f"{workspace}/{spec.name}", required, statements, labels)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_function_roles_have_one_inline_policy_and_no_managed_policy(synth, workspace):
    stack = f"{workspace}-app"
    roles = {f"${{aws_iam_role.{cfg['//']['metadata']['uniqueId']}.id}}": path
             for path, cfg in synth.resources(stack, "aws_iam_role").items()}
    attached = [roles.get(p["role"]) for p in synth.resources(stack, "aws_iam_role_policy").values()]
    for spec in FUNCTIONS:
        role = f"app/{spec.name.replace('-', '_')}/role"
        assert attached.count(role) == 1, f"{role}: inline policies {attached.count(role)}"
    for path, role in synth.resources(stack, "aws_iam_role").items():
        assert not role.get("managed_policy_arns") and not role.get("inline_policy"), path


def test_managed_policy_attachments_are_allow_listed(synth):
    seen = set()
    # The ci stack's roles carry their own customer-managed policies, proven pair by pair in
    # test_ci_identities.py; this allow-list is about policies from outside the code.
    for stack in (name for name in synth.stack_names() if name != CI_STACK):
        roles = {f"${{aws_iam_role.{cfg['//']['metadata']['uniqueId']}.name}}": path.removeprefix("app/")
                 for path, cfg in synth.resources(stack, "aws_iam_role").items()}
        for path, attachment in synth.resources(stack, "aws_iam_role_policy_attachment").items():
            key = (roles.get(attachment["role"], attachment["role"]), attachment["policy_arn"])
            assert key in MANAGED_POLICY_ALLOW_LIST, f"{stack}/{path}: managed policy {key} is not allow-listed"
            seen.add((stack, key))
    assert seen == set()


def test_scan_matches_the_declared_grants():
    """No synth needed: each catalog entry declares exactly what the scan derives."""
    for spec in FUNCTIONS:
        declared = {(action, resource) for resource, actions in spec.grants.items() for action in actions}
        assert {resource for _, resource in declared} <= set(SETTING_RESOURCES.values())
        scanned = handler_grants(spec.handler)
        assert not scanned.unresolved
        problems = role_problems(spec.name, dict.fromkeys(scanned.grants, "handler code"),
                                 [{"Effect": "Allow", "Action": a, "Resource": r} for a, r in sorted(declared)])
        assert not problems, "\n".join(problems)


def test_scan_sees_real_calls_on_the_right_resources():
    # The scan is what the proof rests on: it must find the obvious calls, bound correctly.
    api = handler_grants("handlers.api.app.lambda_handler").grants
    assert {("dynamodb:PutItem", "table"), ("dynamodb:Query", "table"), ("states:StartExecution", "state_machine"),
            ("dynamodb:GetItem", "idempotency_table")} <= api
    assert ("dynamodb:Query", "idempotency_table") not in api  # Powertools never queries it
    assert handler_grants("handlers.stream.consumer.lambda_handler").grants == {("sns:Publish", "events_topic")}
    assert handler_grants("handlers.workflow.validate.lambda_handler").grants == set()
    assert {a for a, _ in api} == handler_actions("handlers.api.app.lambda_handler")


def test_every_function_has_its_own_role(synth):
    for workspace in WORKSPACES:
        roles = synth.resources(f"{workspace}-app", "aws_iam_role")
        assert len({r["name"] for r in roles.values()}) == len(roles)
        functions = synth.resources(f"{workspace}-app", "aws_lambda_function")
        assert len({f["role"] for f in functions.values()}) == len(FUNCTIONS)


# Step Functions optimized integrations a Task may name -> the action its role needs
# (AWS Step Functions guide, "Call DynamoDB APIs with Step Functions": IAM policies).
SFN_INTEGRATION_ACTIONS = {"arn:aws:states:::dynamodb:updateItem": "dynamodb:UpdateItem"}


def partitionless(resource: str) -> str:
    """An integration ARN with the stack's partition lookup read as `aws`."""
    return re.sub(r"^arn:\$\{data\.aws_partition\.[^}]+\.partition\}:", "arn:aws:", resource)
WORKFLOW_RUNTIME_GRANTS: dict[Grant, str] = {
    **{(action, "*"): _LOG_DELIVERY for action in WILDCARD_ALLOW_LIST if action.startswith("logs:")},
    **{(action, "*"): _XRAY for action in WILDCARD_ALLOW_LIST if action.startswith("xray:")},
}


def workflow_required_grants(synth, workspace: str) -> tuple[dict[Grant, str], dict[str, str]]:
    """What the state machine's role must grant, derived from its definition: InvokeFunction
    on every Lambda Task's resource, the integration's action on the table every DynamoDB
    Task names, plus log delivery and tracing."""
    definition = json.loads(synth.resource(f"{workspace}-app", "aws_sfn_state_machine",
                                           "workflow/state_machine")["definition"])
    table = {remote_ref(synth, workspace, "data", "aws_dynamodb_table", "data/table", "name"):
             remote_ref(synth, workspace, "data", "aws_dynamodb_table", "data/table", "arn")}
    required = dict(WORKFLOW_RUNTIME_GRANTS)
    for name, state in definition["States"].items():
        if state["Type"] != "Task":
            continue
        integration = partitionless(state["Resource"])
        if integration in SFN_INTEGRATION_ACTIONS:
            grant = (SFN_INTEGRATION_ACTIONS[integration], table[state["Parameters"]["TableName"]])
            required[grant] = f"state {name} calls it on the table"
        else:
            assert ":states:::" not in state["Resource"], f"{name}: unknown integration"
            required[("lambda:InvokeFunction", state["Resource"])] = f"state {name} invokes it"
    labels = dict.fromkeys(table.values(), "table")
    return required, labels


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_workflow_role_grants_exactly_what_the_definition_needs(synth, workspace):
    required, labels = workflow_required_grants(synth, workspace)
    assert ("dynamodb:UpdateItem", next(iter(labels))) in required  # RecordFailure is there
    document = json.loads(synth.resource(f"{workspace}-app", "aws_iam_role_policy", "workflow/policy")["policy"])
    problems = role_problems(f"{workspace}/workflow", required, document["Statement"], labels)
    assert not problems, "\n".join(problems)


def test_workflow_proof_reports_a_missing_integration_grant(synth):
    required, labels = workflow_required_grants(synth, "prod")
    document = json.loads(synth.resource("prod-app", "aws_iam_role_policy", "workflow/policy")["policy"])
    mutated = [s for s in document["Statement"] if s["Sid"] != "RecordFailure"]
    assert role_problems("prod/workflow", required, mutated, labels) == [
        "missing: prod/workflow: dynamodb:UpdateItem on table (state RecordFailure calls it on the table)"]


# --- the proof fails in both directions ----------------------------------------------------

def _api_case(synth):
    """The prod api role's required grants and a correct policy for them (one statement per
    grant), so these tests exercise the proof alone, whatever the code under test grants."""
    required, labels = required_grants(synth, "prod", "api", "handlers.api.app.lambda_handler")
    statements = [{"Sid": f"S{i}", "Effect": "Allow", "Action": [action], "Resource": [resource]}
                  for i, (action, resource) in enumerate(sorted(required))]
    assert role_problems("api", required, statements, labels) == []
    return required, labels, statements


def _arn(labels: dict[str, str], kind: str) -> str:
    return next(arn for arn, label in labels.items() if label == kind)


def test_proof_reports_a_removed_grant(synth):
    required, labels, statements = _api_case(synth)
    idempotency = _arn(labels, "idempotency_table")
    mutated = [s for s in statements if s["Action"] != ["dynamodb:GetItem"] or s["Resource"] != [idempotency]]
    assert role_problems("api", required, mutated, labels) == [
        "missing: api: dynamodb:GetItem on idempotency_table (handler code calls it on the idempotency_table)"]


def test_proof_reports_a_removed_runtime_grant(synth):
    required, labels, statements = _api_case(synth)
    mutated = [s for s in statements if s["Action"] != ["sqs:SendMessage"]]
    assert role_problems("api", required, mutated, labels) == [
        "missing: api: sqs:SendMessage on own_dlq (dead_letter_config targets the function's own DLQ)"]


def test_proof_reports_an_extra_grant(synth):
    required, labels, statements = _api_case(synth)
    mutated = [*copy.deepcopy(statements),
               {"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": [_arn(labels, "idempotency_table")]},
               {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Sid": "Extra"}]
    assert role_problems("api", required, mutated, labels) == [
        "unused: api: dynamodb:Query on idempotency_table", "unused: api: s3:GetObject on *"]


def test_proof_reports_a_grant_on_the_wrong_resource(synth):
    required, labels, statements = _api_case(synth)
    index = _arn(labels, "table/index/*")
    mutated = [{**s, "Resource": [_arn(labels, "idempotency_table")]} if s["Resource"] == [index] else s
               for s in statements]
    problems = role_problems("api", required, mutated, labels)
    table_actions = {a for a, r in handler_grants("handlers.api.app.lambda_handler").grants if r == "table"}
    assert sorted(p for p in problems if p.startswith("missing:")) == [
        f"missing: api: {a} on table/index/* (handler code calls it on the table)" for a in sorted(table_actions)]
    assert sorted(p for p in problems if p.startswith("unused:")) == [
        f"unused: api: {a} on idempotency_table" for a in sorted(table_actions - {
            a for a, r in handler_grants("handlers.api.app.lambda_handler").grants if r == "idempotency_table"})]


def test_proof_rejects_conditions_and_denies():
    problems = role_problems("x", {}, [{"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*", "Sid": "D"}])
    assert problems == ["statement D: only plain Allow statements are expected", "unused: x: s3:GetObject on *"]


# --- CodeDeploy's service role: what a Lambda deployment needs, on this workspace only ----------

def codedeploy_required_grants(synth, workspace: str) -> dict[Grant, str]:
    """The actions of AWS's managed AWSCodeDeployRoleForLambdaLimited (AWS Managed Policy
    reference), each scoped to what this workspace's deployments touch: every rolled-out
    function and its `live` alias, the groups' rollback alarms, the pre-traffic hook."""
    stack = f"{workspace}-app"
    groups = synth.resources(stack, "aws_codedeploy_deployment_group").values()
    functions = {cfg["function_name"]: "${aws_lambda_function." + unique_id(synth, stack, "aws_lambda_function", path)
                 + ".arn}" for path, cfg in synth.resources(stack, "aws_lambda_function").items()}
    partition, caller = app_identity(synth, workspace)
    alarm_prefix = (f"arn:${{data.aws_partition.{partition}.partition}}:cloudwatch:{SETTINGS[workspace].region}:"
                    f"${{data.aws_caller_identity.{caller}.account_id}}:alarm:")
    required: dict[Grant, str] = {}
    for group in groups:
        arn = functions[group["deployment_group_name"]]
        for action in ("lambda:GetAlias", "lambda:UpdateAlias", "lambda:GetProvisionedConcurrencyConfig"):
            for resource in (arn, f"{arn}:live"):
                required[(action, resource)] = "CodeDeploy reads and shifts the function's live alias"
        for alarm in group["alarm_configuration"]["alarms"]:
            required[("cloudwatch:DescribeAlarms", alarm_prefix + alarm)] = "CodeDeploy polls the rollback alarms"
    hook = functions[f"serverless-app-{workspace}-pre-traffic"]
    required[("lambda:InvokeFunction", hook)] = "CodeDeploy runs the BeforeAllowTraffic hook"
    return required


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_codedeploy_role_grants_exactly_what_deployments_need(synth, workspace):
    stack = f"{workspace}-app"
    policy = json.loads(synth.resource(stack, "aws_iam_role_policy", "rollouts/service_policy")["policy"])
    assert role_problems("codedeploy", codedeploy_required_grants(synth, workspace), policy["Statement"]) == []
    trust = json.loads(synth.resource(stack, "aws_iam_role", "rollouts/service_role")["assume_role_policy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "codedeploy.amazonaws.com"}]


def test_codedeploy_proof_reports_an_alias_of_another_function(synth):
    policy = json.loads(synth.resource("dev-app", "aws_iam_role_policy", "rollouts/service_policy")["policy"])
    statements = copy.deepcopy(policy["Statement"])
    shift = next(s for s in statements if s["Sid"] == "ShiftAliases")
    shift["Resource"] = [*shift["Resource"][1:], "arn:aws:lambda:us-west-2:123456789012:function:other:live"]
    problems = role_problems("codedeploy", codedeploy_required_grants(synth, "dev"), statements)
    assert any(p.startswith("missing: codedeploy: lambda:GetAlias") for p in problems)
    other = "arn:aws:lambda:us-west-2:123456789012:function:other"
    assert any(p.startswith(f"unused: codedeploy: lambda:GetAlias on {other}") for p in problems)
