"""Deployment contract (tests/infra/contract/deploy_rules.py): stateful resources are
protected outside dev and local, every REST stage that logs depends on the account logging
role bootstrap creates, remote state is encrypted with the bootstrap key and the state
bucket refuses anything else, and a first deployment into an empty account runs in order.

Each rule runs on the real synth of every workspace (both API kinds) and expects nothing;
then on a deliberately broken copy and expects the specific problem.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.infra.contract import deploy_rules
from tests.infra.contract.deploy_rules import RULES, Stacks
from tests.infra.synthesized import Synthesized


def all_stacks(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {name: synth.stack(name) for name in synth.stack_names()}


def broken(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """A deep copy of the synthesized stacks to break."""
    return copy.deepcopy(all_stacks(synth))


def one(stack: dict[str, Any], rtype: str, path_suffix: str, kind: str = "resource") -> dict[str, Any]:
    (config,) = [c for c in stack[kind][rtype].values() if c["//"]["metadata"]["path"].endswith(path_suffix)]
    return config


@pytest.mark.parametrize("kind", ["synth", "synth_http"])
@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_the_synthesized_stacks_keep_the_deployment_contract(request, kind, rule):
    stacks: Stacks = all_stacks(request.getfixturevalue(kind))
    assert rule(stacks) == []


# --- finding 9 and the audit: stateful resources -------------------------------------------

@pytest.mark.parametrize(("stack", "rtype", "path"), [
    ("staging-security", "aws_kms_key", "security/key"),               # finding 9
    ("prod-security", "aws_kms_key", "security/key"),                  # finding 9
    ("prod-data", "aws_dynamodb_table", "data/idempotency_table"),     # audit
    ("prod-data", "aws_sqs_queue", "data/dlq_process"),                # audit
    ("staging-network", "aws_cloudwatch_log_group", "network/flow_log_group"),  # audit: flow logs
    ("bootstrap", "aws_kms_key", "state_key"),
])
def test_an_unprotected_stateful_resource_is_reported(synth, stack, rtype, path):
    stacks = broken(synth)
    one(stacks[stack], rtype, path).pop("lifecycle")
    assert deploy_rules.unprotected_stateful_resources(stacks) == [
        f"{stack}: {rtype} {stack}/{path} has no lifecycle.prevent_destroy; stateful resources are protected "
        "outside dev and local"]


def test_a_table_without_deletion_protection_is_reported(synth):
    stacks = broken(synth)
    one(stacks["prod-data"], "aws_dynamodb_table", "data/table")["deletion_protection_enabled"] = False
    assert deploy_rules.unprotected_stateful_resources(stacks) == [
        "prod-data: aws_dynamodb_table prod-data/data/table has deletion_protection_enabled=False; "
        "allowed: true outside dev and local"]


def test_dev_and_local_stay_destroyable(synth):
    for workspace in ("local", "dev"):
        assert "lifecycle" not in one(synth.stack(f"{workspace}-security"), "aws_kms_key", "security/key")


# --- finding 7: the account logging role ---------------------------------------------------

def test_bootstrap_sets_the_account_logging_role_after_granting_its_policy(synth):
    bootstrap = synth.stack("bootstrap")
    role = one(bootstrap, "aws_iam_role", "account_logging_role")
    assert role["name"] == "serverless-app-apigw-cloudwatch-us-west-2"
    assert json.loads(role["assume_role_policy"])["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"}
    (policy_id, policy), = bootstrap["resource"]["aws_iam_role_policy"].items()
    account_id = "${data.aws_caller_identity.caller.account_id}"
    assert json.loads(policy["policy"])["Statement"] == [{
        "Effect": "Allow", "Action": sorted(deploy_rules.PUSH_TO_CLOUDWATCH_LOGS),
        "Resource": [f"arn:${{data.aws_partition.partition.partition}}:logs:us-west-2:{account_id}:*"]}]
    (account,) = bootstrap["resource"]["aws_api_gateway_account"].values()
    assert account["depends_on"] == [f"aws_iam_role_policy.{policy_id}"]
    assert account["cloudwatch_role_arn"] == f"${{aws_iam_role.{role['//']['metadata']['uniqueId']}.arn}}"
    assert bootstrap["output"]["api_gateway_logging_role_arn"]["value"] == account["cloudwatch_role_arn"]


@pytest.mark.parametrize("workspace", ["local", "dev", "staging", "prod"])
def test_every_rest_stage_depends_on_the_role_lookup_that_fails_without_bootstrap(synth, workspace):
    app = synth.stack(f"{workspace}-app")
    lookup = one(app, "aws_iam_roles", "gateway/account_logging_role", kind="data")
    assert lookup["name_regex"] == "^serverless-app-apigw-cloudwatch-us-west-2$"
    (postcondition,) = lookup["lifecycle"]["postcondition"]
    assert postcondition["condition"] == "${length(self.names) == 1}"
    assert "deploy the `bootstrap` stack first" in postcondition["error_message"]
    reference = f"data.aws_iam_roles.{lookup['//']['metadata']['uniqueId']}"
    assert one(app, "aws_api_gateway_stage", "gateway/stage")["depends_on"] == [reference]
    assert one(app, "aws_api_gateway_method_settings", "gateway/method_settings")["depends_on"] == [reference]
    assert "aws_api_gateway_account" not in app["resource"]  # only bootstrap writes the account setting


def test_a_logging_stage_without_the_role_dependency_is_reported(synth):
    stacks = broken(synth)
    stage = one(stacks["dev-app"], "aws_api_gateway_stage", "gateway/stage")
    stage.pop("depends_on")
    problems = deploy_rules.logging_stages_without_account_role(stacks)
    assert len(problems) == 1
    assert problems[0].startswith("dev-app: aws_api_gateway_stage.") and "enables access logs but does not " \
        "depend on a lookup of the account logging role ['serverless-app-apigw-cloudwatch-us-west-2']" in problems[0]


def test_execution_logging_without_the_role_dependency_is_reported(synth):
    stacks = broken(synth)
    one(stacks["prod-app"], "aws_api_gateway_method_settings", "gateway/method_settings").pop("depends_on")
    (problem,) = deploy_rules.logging_stages_without_account_role(stacks)
    assert problem.startswith("prod-app: aws_api_gateway_method_settings.")
    assert "enables execution logs (logging_level ERROR)" in problem


def test_a_bootstrap_without_the_account_setting_is_reported(synth):
    stacks = broken(synth)
    stacks["bootstrap"]["resource"].pop("aws_api_gateway_account")
    problems = deploy_rules.logging_stages_without_account_role(stacks)
    assert problems[0] == ("bootstrap: no aws_api_gateway_account sets a role trusted by apigateway.amazonaws.com "
                           "that holds the AmazonAPIGatewayPushToCloudWatchLogs actions before the setting is written")
    assert len(problems) == 1 + 2 * 4  # and then no stage of any workspace has its role


def test_an_account_setting_written_before_the_role_has_its_policy_is_reported(synth):
    stacks = broken(synth)
    next(iter(stacks["bootstrap"]["resource"]["aws_api_gateway_account"].values())).pop("depends_on")
    problems = deploy_rules.logging_stages_without_account_role(stacks)
    assert problems[0].startswith("bootstrap: no aws_api_gateway_account")


# --- finding 10: state encryption -------------------------------------------------------------

def test_every_backend_names_the_bootstrap_key_alias(synth):
    alias = one(synth.stack("bootstrap"), "aws_kms_alias", "state_key_alias")
    assert alias["name"] == "alias/serverless-app-tfstate"
    for name in synth.stack_names():
        backend = synth.stack(name)["terraform"]["backend"].get("s3")
        if backend is not None:
            assert backend["kms_key_id"] == alias["name"], name
        for remote in synth.stack(name).get("data", {}).get("terraform_remote_state", {}).values():
            assert remote["config"]["kms_key_id"] == alias["name"], name


def test_a_backend_without_the_key_is_reported(synth):
    stacks = broken(synth)
    stacks["staging-data"]["terraform"]["backend"]["s3"].pop("kms_key_id")
    assert deploy_rules.backends_without_state_key(stacks) == [
        "staging-data: backend s3 kms_key_id=None; allowed: the bootstrap state key alias "
        "['alias/serverless-app-tfstate'] (without it state is SSE-S3, not the bootstrap key)"]


def test_a_backend_with_another_key_is_reported(synth):
    stacks = broken(synth)
    stacks["prod-app"]["terraform"]["backend"]["s3"]["kms_key_id"] = "alias/aws/s3"
    (problem,) = deploy_rules.backends_without_state_key(stacks)
    assert problem.startswith("prod-app: backend s3 kms_key_id='alias/aws/s3'; allowed:")


def _state_policy(stacks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return one(stacks["bootstrap"], "aws_s3_bucket_policy", "state/policy")


def test_the_state_bucket_refuses_sse_s3_and_other_keys_but_takes_the_backends_upload(synth):
    document = json.loads(_state_policy(all_stacks(synth))["policy"])
    sse, key = deploy_rules.SSE, deploy_rules.SSE_KEY
    assert not deploy_rules.put_object_denied(document, {sse: "aws:kms", key: "alias/serverless-app-tfstate"})
    assert not deploy_rules.put_object_denied(document, {})  # multipart parts: bucket default (the key)
    assert deploy_rules.put_object_denied(document, {sse: "AES256"})  # what the backend sent before the fix
    assert deploy_rules.put_object_denied(document, {sse: "aws:kms"})
    assert deploy_rules.put_object_denied(document, {sse: "aws:kms", key: "alias/another"})


@pytest.mark.parametrize(("sid", "expected"), [
    ("DenyUploadsNotSseKms", "SSE-S3 (what `encrypt` alone sends)"),
    ("DenyUploadsWithAnotherKey", "SSE-KMS with another key"),
    ("DenyUploadsWithTheAwsManagedKey", "SSE-KMS without a key id (aws/s3)"),
])
def test_a_state_bucket_policy_missing_a_deny_is_reported(synth, sid, expected):
    stacks = broken(synth)
    policy = _state_policy(stacks)
    document = json.loads(policy["policy"])
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]
    policy["policy"] = json.dumps(document)
    problems = deploy_rules.state_bucket_accepts_other_encryption(stacks)
    assert (f"bootstrap: state bucket policy accepts uploads asking for {expected}; allowed: only SSE-KMS with "
            "the bootstrap state key") in problems


def test_a_state_bucket_policy_refusing_the_backends_own_header_is_reported(synth):
    stacks = broken(synth)
    policy = _state_policy(stacks)
    document = json.loads(policy["policy"])
    for statement in document["Statement"]:
        if statement.get("Sid") == "DenyUploadsWithAnotherKey":  # as if only the key ARN were accepted
            statement["Condition"]["StringNotEquals"][deploy_rules.SSE_KEY] = "arn:aws:kms:us-west-2:1:key/x"
    policy["policy"] = json.dumps(document)
    assert deploy_rules.state_bucket_accepts_other_encryption(stacks) == [
        "bootstrap: state bucket policy denies the backends' own upload (aws:kms with alias/serverless-app-tfstate)"]


# --- first deployment into an empty account ---------------------------------------------------

def test_remote_state_of_a_later_layer_is_reported(synth):
    stacks = broken(synth)
    (remote,) = stacks["dev-data"]["data"]["terraform_remote_state"].values()
    remote["config"]["key"] = "serverless-app/dev/app.tfstate"
    assert deploy_rules.first_deployment_out_of_order(stacks) == [
        "dev-data: reads the remote state of dev-app, which is not an existing earlier layer of its workspace"]


def test_a_lookup_nothing_creates_is_reported(synth):
    stacks = broken(synth)
    lookup = one(stacks["staging-app"], "aws_iam_roles", "gateway/account_logging_role", kind="data")
    lookup["name_regex"] = "^a-role-made-by-hand$"
    assert deploy_rules.first_deployment_out_of_order(stacks) == [
        "staging-app: data source aws_iam_roles staging-app/app/gateway/account_logging_role looks up something "
        "that neither bootstrap nor an earlier layer creates"]
