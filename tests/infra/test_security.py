"""Property assertions on the security layer: the workspace's customer-managed key."""

from __future__ import annotations

import pytest

from modules.config import WORKSPACES
from tests.infra.layer_helpers import data_ref
from tests.infra.synthesized import policy, ref


@pytest.mark.parametrize(("workspace", "window"), [("local", 7), ("dev", 7), ("staging", 30), ("prod", 30)])
def test_kms_key_rotation_window_and_alias(synth, workspace, window):
    stack = f"{workspace}-security"
    key = synth.resource(stack, "aws_kms_key", "key")
    assert key["enable_key_rotation"] is True
    assert key["deletion_window_in_days"] == window
    alias = synth.resource(stack, "aws_kms_alias", "alias")
    assert alias["name"] == f"alias/serverless-app-{workspace}-main"


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_key_policy_of_every_workspace(synth, workspace):
    # Given the account and partition the security stack looks up
    stack = f"{workspace}-security"
    account = data_ref(synth, stack, "aws_caller_identity", "security/caller", "account_id")
    partition = data_ref(synth, stack, "aws_partition", "security/partition", "partition")
    # When reading the key policy
    statements = policy(synth.resource(stack, "aws_kms_key", "key")["policy"])["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    # Then the account administers the key ...
    assert len(by_sid) == len(statements) == 4
    assert by_sid["AccountAdministration"] == {
        "Sid": "AccountAdministration", "Effect": "Allow", "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
        "Action": "kms:*", "Resource": "*"}
    # ... CloudWatch Logs may use it only for this account's log groups in the region ...
    logs = by_sid["CloudWatchLogsOfThisAccount"]
    assert logs["Principal"] == {"Service": "logs.us-west-2.amazonaws.com"}
    assert logs["Action"] == ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*",
                              "kms:ReEncrypt*"]
    assert logs["Condition"] == {"ArnLike": {
        "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:us-west-2:{account}:*"}}
    # ... the three services that encrypt with it may only decrypt and make data keys, for this account ...
    services = by_sid["ServicesOfThisAccount"]
    assert set(services["Principal"]["Service"]) == {"sns.amazonaws.com", "sqs.amazonaws.com",
                                                      "cloudwatch.amazonaws.com"}
    assert services["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert services["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}
    # ... and EventBridge may for its dead-letter deliveries, which carry no source keys
    # (the queues' policies name the rules that may send).
    assert by_sid["EventBridgeDeadLetterQueues"] == {
        "Sid": "EventBridgeDeadLetterQueues", "Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com"]},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_security_outputs(synth, workspace):
    stack = f"{workspace}-security"
    # Values only: descriptions are checked for every output in test_outputs.py.
    outputs = {k: {"value": v["value"]} for k, v in synth.stack(stack)["output"].items()
               if not k.startswith("cross-stack-output-")}
    assert outputs == {"kms_key_arn": {"value": ref(synth, stack, "aws_kms_key", "key", "arn")},
                       "kms_alias_name": {"value": f"alias/serverless-app-{workspace}-main"}}
