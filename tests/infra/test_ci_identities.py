"""IAM proof of the CI roles (`ci` stack): for every workspace, the plan role and the deploy
role grant exactly the (action, resource) pairs Terraform needs for that workspace's
stacks, derived here from the synthesized stacks: the resource and data source types
present (-> what modules/ci_permissions.py documents the AWS provider calls for each), the
state keys of the workspace's stacks and of the upstream stacks they read (backend and
terraform_remote_state blocks), and their `.tflock` lock files. Missing and unused pairs
both fail, named; each check is also run on a broken copy.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from modules import ci
from modules.ci import CI_STACK, CI_WORKSPACES, MANAGED_POLICY_MAX_CHARS
from modules.ci_permissions import SCOPES, SERVICE_LINKED_ROLES, needs_of
from tests.infra.conftest import SESSION_ENVIRONMENT, SETTINGS
from tests.infra.test_iam import Grant, role_problems

REPOSITORY = SESSION_ENVIRONMENT["GITHUB_REPOSITORY"]
OIDC = "token.actions.githubusercontent.com"
# Reads of what the product stores: no CI role may hold them, whatever the table says.
PRODUCT_DATA_READS = frozenset({
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:GetRecords",
    "sqs:ReceiveMessage", "kms:Decrypt", "states:DescribeExecution", "states:GetExecutionHistory",
    "logs:GetLogEvents", "logs:FilterLogEvents", "firehose:PutRecord",
})
DATA_BUCKETS = ("-logs-", "-stream-failures-", "-archive")


def data_id(synth, stack: str, dtype: str) -> str:
    [name] = synth.stack(stack)["data"][dtype]
    return f"data.{dtype}.{name}"


def references(synth) -> dict[str, str]:
    return {"p": f"${{{data_id(synth, CI_STACK, 'aws_partition')}.partition}}",
            "a": f"${{{data_id(synth, CI_STACK, 'aws_caller_identity')}.account_id}}",
            "key": f"${{{data_id(synth, CI_STACK, 'aws_kms_alias')}.target_key_arn}}"}


def workspace_stacks(synth, workspace: str) -> list[str]:
    return [name for name in synth.stack_names() if name.startswith(f"{workspace}-")]


def synthesized_types(synth, workspace: str) -> set[str]:
    return {rtype for stack in workspace_stacks(synth, workspace)
            for block in ("resource", "data") for rtype in synth.stack(stack).get(block, {})}


def state_objects(synth, workspace: str) -> tuple[str, set[str], set[str]]:
    """The state bucket, the keys the stacks lock and write (their own), and the keys they
    read (their own and their upstream stacks')."""
    own, read, buckets = set(), set(), set()
    for stack in workspace_stacks(synth, workspace):
        backend = synth.stack(stack)["terraform"]["backend"]["s3"]
        assert backend["use_lockfile"] is True, stack
        own.add(backend["key"])
        buckets.add(backend["bucket"])
        for remote in synth.stack(stack).get("data", {}).get("terraform_remote_state", {}).values():
            read.add(remote["config"]["key"])
            buckets.add(remote["config"]["bucket"])
    [bucket] = buckets
    return bucket, own, own | read


def required_grants(synth, workspace: str, kind: str) -> dict[Grant, str]:
    refs, settings = references(synth), SETTINGS[workspace]
    bucket, own, read = state_objects(synth, workspace)
    bucket_arn = f"arn:{refs['p']}:s3:::{bucket}"
    required: dict[Grant, str] = {("s3:ListBucket", bucket_arn): "init lists the state bucket"}
    required |= {("s3:GetObject", f"{bucket_arn}/{key}"): "state read (own or upstream)" for key in read}
    for key in own:
        lock = f"{bucket_arn}/{key}.tflock"
        required |= {(action, lock): "S3-native lock" for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")}
        if kind == "deploy":
            required[("s3:PutObject", f"{bucket_arn}/{key}")] = "apply writes the state"
    required |= {(action, refs["key"]): "state key" for action in ("kms:Decrypt", "kms:GenerateDataKey")}
    types = synthesized_types(synth, workspace)
    values = {"p": refs["p"], "r": settings.region, "a": refs["a"], "n": f"{settings.project}-{workspace}"}
    for (action, scope), needed_by in needs_of(types, kind).items():
        for pattern in SCOPES[scope]:
            required[(action, pattern.format(**values))] = f"needed by {', '.join(sorted(needed_by))}"
    if kind == "deploy":
        for rtype, (service, role) in SERVICE_LINKED_ROLES.items():
            if rtype in types:
                arn = f"arn:{refs['p']}:iam::{refs['a']}:role/aws-service-role/{service}/{role}"
                required[("iam:CreateServiceLinkedRole", f"{arn} if iam:AWSServiceName={service}")] = rtype
    return required


def role_documents(synth, workspace: str, kind: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The role and the policy documents attached to it."""
    role = synth.resource(CI_STACK, "aws_iam_role", f"{workspace}_{kind}_role")
    role_ref = f"${{aws_iam_role.{role['//']['metadata']['uniqueId']}.name}}"
    policies = {f"${{aws_iam_policy.{p['//']['metadata']['uniqueId']}.arn}}": json.loads(p["policy"])
                for p in synth.resources(CI_STACK, "aws_iam_policy").values()}
    attached = [a["policy_arn"] for a in synth.resources(CI_STACK, "aws_iam_role_policy_attachment").values()
                if a["role"] == role_ref]
    assert attached, f"{workspace}/{kind}: no policy attached"
    return role, [policies[arn] for arn in attached]


def plain_statements(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statements in the form the proof compares: the one accepted condition (a
    service-linked role named by iam:AWSServiceName) folded into the resource."""
    statements = []
    for document in documents:
        for statement in document["Statement"]:
            statement = dict(statement)
            condition = statement.pop("Condition", None)
            if condition is not None:
                service = condition.get("StringEquals", {}).get("iam:AWSServiceName")
                assert statement["Action"] == ["iam:CreateServiceLinkedRole"] and service and len(condition) == 1, \
                    f"unexpected condition in {statement.get('Sid')}"
                statement["Resource"] = [f"{r} if iam:AWSServiceName={service}" for r in statement["Resource"]]
            statements.append(statement)
    return statements


def problems_of(synth, workspace: str, kind: str, documents: list[dict[str, Any]]) -> list[str]:
    return role_problems(f"{workspace}/{kind}", required_grants(synth, workspace, kind), plain_statements(documents))


ROLES = [(workspace, kind) for workspace in CI_WORKSPACES for kind in ("plan", "deploy")]


@pytest.mark.parametrize(("workspace", "kind"), ROLES)
def test_ci_role_grants_exactly_what_terraform_needs(synth, workspace, kind):
    _role, documents = role_documents(synth, workspace, kind)
    problems = problems_of(synth, workspace, kind, documents)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("workspace", "kind"), ROLES)
def test_no_ci_role_reads_product_data(synth, workspace, kind):
    _role, documents = role_documents(synth, workspace, kind)
    assert not data_reads(plain_statements(documents), references(synth)["key"])


def data_reads(statements: list[dict[str, Any]], state_key: str) -> list[str]:
    found = []
    for statement in statements:
        for action in statement["Action"]:
            for resource in statement["Resource"]:
                state_key_use = action == "kms:Decrypt" and resource == state_key
                if (action in PRODUCT_DATA_READS and not state_key_use) or (
                        action == "s3:GetObject" and any(part in resource for part in DATA_BUCKETS)):
                    found.append(f"{statement['Sid']}: {action} on {resource}")
    return found


def test_the_proof_fails_without_the_lock_file_statement(synth):
    _role, documents = role_documents(synth, "dev", "plan")
    broken = copy.deepcopy(documents)
    for document in broken:
        document["Statement"] = [s for s in document["Statement"] if s["Sid"] != "StateLock"]
    problems = problems_of(synth, "dev", "plan", broken)
    lock = "/dev/app.tfstate.tflock (S3-native lock)"
    assert any(p.startswith("missing: dev/plan: s3:GetObject on ") and p.endswith(lock) for p in problems), problems
    assert any("s3:DeleteObject" in p and ".tflock" in p for p in problems)


def test_the_proof_fails_on_a_permission_not_needed(synth):
    _role, documents = role_documents(synth, "prod", "deploy")
    broken = copy.deepcopy(documents)
    broken[0]["Statement"].append({"Sid": "Extra", "Effect": "Allow", "Action": ["dynamodb:GetItem"],
                                   "Resource": ["arn:aws:dynamodb:us-west-2:1:table/serverless-app-prod-items"]})
    problems = problems_of(synth, "prod", "deploy", broken)
    assert problems == ["unused: prod/deploy: dynamodb:GetItem on arn:aws:dynamodb:us-west-2:1:table/"
                        "serverless-app-prod-items"]
    assert data_reads(plain_statements(broken), references(synth)["key"]) == [
        "Extra: dynamodb:GetItem on arn:aws:dynamodb:us-west-2:1:table/serverless-app-prod-items"]


def test_a_fresh_account_gets_its_service_linked_roles(synth):
    """Application Auto Scaling (prod's provisioned table) and API Gateway create their
    service-linked roles on first use, as the caller: the deploy role may, by name only."""
    statements = plain_statements(role_documents(synth, "prod", "deploy")[1])
    linked = {r for s in statements if s["Action"] == ["iam:CreateServiceLinkedRole"] for r in s["Resource"]}
    assert any("/dynamodb.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_DynamoDBTable "
               "if iam:AWSServiceName=dynamodb.application-autoscaling.amazonaws.com" in r for r in linked), linked
    dev = plain_statements(role_documents(synth, "dev", "deploy")[1])
    assert not any("application-autoscaling" in r for s in dev for r in s["Resource"])  # dev: on-demand table


# --- trust: who can assume which role -------------------------------------------------------

def trust_problems(role: dict[str, Any], subjects: list[str], provider_ref: str) -> list[str]:
    [statement] = json.loads(role["assume_role_policy"])["Statement"]
    problems = []
    if statement.get("Principal") != {"Federated": provider_ref}:
        problems.append(f"principal {statement.get('Principal')} is not the GitHub OIDC provider")
    if statement.get("Action") != "sts:AssumeRoleWithWebIdentity":
        problems.append(f"action {statement.get('Action')}")
    condition = statement.get("Condition", {})
    equals = condition.get("StringEquals", {})
    if set(condition) != {"StringEquals"} or equals.get(f"{OIDC}:aud") != "sts.amazonaws.com":
        problems.append(f"audience: {condition}")
    if sorted(equals.get(f"{OIDC}:sub", [])) != sorted(subjects):
        problems.append(f"subjects {equals.get(f'{OIDC}:sub')} != {subjects}")
    return problems


def expected_subjects(workspace: str, kind: str) -> list[str]:
    if kind == "deploy":
        return [f"repo:{REPOSITORY}:environment:{workspace}"]
    reviewed = "environment:prod-plan" if workspace == "prod" else "pull_request"
    return [f"repo:{REPOSITORY}:{reviewed}", f"repo:{REPOSITORY}:ref:refs/heads/main"]


def provider_ref(synth) -> str:
    [name] = synth.stack(CI_STACK)["resource"]["aws_iam_openid_connect_provider"]
    return f"${{aws_iam_openid_connect_provider.{name}.arn}}"


@pytest.mark.parametrize(("workspace", "kind"), ROLES)
def test_only_the_intended_workflows_can_assume_a_role(synth, workspace, kind):
    role, _documents = role_documents(synth, workspace, kind)
    assert not trust_problems(role, expected_subjects(workspace, kind), provider_ref(synth))
    assert not role["name"].startswith(f"{SETTINGS[workspace].project}-{workspace}-"), \
        "a CI role inside the prefix the deploy roles manage could be rewritten by them"


def test_the_trust_check_fails_on_a_wildcard_subject(synth):
    role = copy.deepcopy(role_documents(synth, "prod", "deploy")[0])
    trust = json.loads(role["assume_role_policy"])
    trust["Statement"][0]["Condition"]["StringEquals"][f"{OIDC}:sub"] = [f"repo:{REPOSITORY}:*"]
    role["assume_role_policy"] = json.dumps(trust)
    assert trust_problems(role, expected_subjects("prod", "deploy"), provider_ref(synth)) == [
        f"subjects ['repo:{REPOSITORY}:*'] != ['repo:{REPOSITORY}:environment:prod']"]


def test_the_oidc_provider_is_githubs(synth):
    [provider] = synth.stack(CI_STACK)["resource"]["aws_iam_openid_connect_provider"].values()
    assert (provider["url"], provider["client_id_list"]) == (f"https://{OIDC}", ["sts.amazonaws.com"])


# --- IAM's size limits ------------------------------------------------------------------------

def resolved_size(document: dict[str, Any], synth) -> int:
    """Characters IAM counts (no whitespace) once the references hold their longest values."""
    text = json.dumps(document, separators=(",", ":"), sort_keys=True)
    refs = references(synth)
    for ref, value in ((refs["p"], ci.SIZING_PARTITION), (refs["a"], ci.SIZING_ACCOUNT),
                       (refs["key"], ci.SIZING_KEY_ARN)):
        text = text.replace(ref, value)
    assert not re.search(r"\$\{", text), text
    return len(text)


def size_problems(synth, workspace: str, kind: str, documents: list[dict[str, Any]]) -> list[str]:
    problems = [f"{workspace}/{kind} policy {i}: {resolved_size(d, synth)} > {MANAGED_POLICY_MAX_CHARS} characters"
                for i, d in enumerate(documents, start=1) if resolved_size(d, synth) > MANAGED_POLICY_MAX_CHARS]
    if len(documents) > 10:  # managed policies attached to one role (default quota)
        problems.append(f"{workspace}/{kind}: {len(documents)} managed policies > 10")
    return problems


@pytest.mark.parametrize(("workspace", "kind"), ROLES)
def test_every_policy_fits_iams_limits(synth, workspace, kind):
    _role, documents = role_documents(synth, workspace, kind)
    sizes = [resolved_size(d, synth) for d in documents]
    print(f"{workspace}/{kind}: {len(documents)} managed policies of {sizes} characters")
    assert not size_problems(synth, workspace, kind, documents)


def test_the_size_check_fails_on_an_oversized_policy(synth):
    _role, documents = role_documents(synth, "prod", "plan")
    broken = copy.deepcopy(documents)
    broken[0]["Statement"][0]["Resource"] = broken[0]["Statement"][0]["Resource"] + ["x" * 200]
    assert size_problems(synth, "prod", "plan", broken)[0].startswith("prod/plan policy 1: ")
