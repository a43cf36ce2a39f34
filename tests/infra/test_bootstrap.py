"""Property assertions on the bootstrap stack: the Terraform state bucket and its key."""

from __future__ import annotations

from tests.infra.layer_helpers import assert_secure_bucket, data_ref
from tests.infra.synthesized import policy, ref


def test_state_bucket_is_protected(synth):
    assert_secure_bucket(synth, "bootstrap", "state", kms=True)
    bucket = synth.resource("bootstrap", "aws_s3_bucket", "state/bucket")
    assert bucket["lifecycle"]["prevent_destroy"] is True
    assert bucket["force_destroy"] is False
    assert bucket["bucket"] == "serverless-app-tfstate-us-west-2"
    key = synth.resource("bootstrap", "aws_kms_key", "state_key")
    assert key["enable_key_rotation"] is True
    logging = synth.resource("bootstrap", "aws_s3_bucket_logging", "state/logging")
    assert logging["target_prefix"] == "state/"


def test_state_bucket_keeps_noncurrent_versions_90_days_and_its_key_serves_only_the_account(synth):
    lifecycle = synth.resource("bootstrap", "aws_s3_bucket_lifecycle_configuration", "state/lifecycle")["rule"][0]
    assert lifecycle["noncurrent_version_expiration"][0]["noncurrent_days"] == 90
    encryption = synth.resource("bootstrap", "aws_s3_bucket_server_side_encryption_configuration",
                                "state/encryption")["rule"][0]["apply_server_side_encryption_by_default"]
    assert encryption["kms_master_key_id"] == ref(synth, "bootstrap", "aws_kms_key", "state_key", "arn")
    key = synth.resource("bootstrap", "aws_kms_key", "state_key")
    assert key["deletion_window_in_days"] == 30 and key["lifecycle"]["prevent_destroy"] is True
    account = data_ref(synth, "bootstrap", "aws_caller_identity", "caller", "account_id")
    partition = data_ref(synth, "bootstrap", "aws_partition", "partition", "partition")
    assert policy(key["policy"])["Statement"] == [{
        "Sid": "AccountAdministration", "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"}, "Action": "kms:*", "Resource": "*",
    }]
    # Uploads asking for other encryption than the state key are refused (the backends send
    # its alias: tests/infra/test_contract_deploy.py).
    statements = policy(synth.resource("bootstrap", "aws_s3_bucket_policy", "state/policy")["policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["DenyInsecureTransport", "DenyUploadsNotSseKms",
                                              "DenyUploadsWithAnotherKey", "DenyUploadsWithTheAwsManagedKey"]


def test_bootstrap_outputs(synth):
    # Values only: descriptions are checked for every output in test_outputs.py.
    outputs = {k: {"value": v["value"]} for k, v in synth.stack("bootstrap")["output"].items()}
    assert outputs == {
        "state_bucket_name": {"value": ref(synth, "bootstrap", "aws_s3_bucket", "state/bucket", "bucket")},
        "state_kms_key_arn": {"value": ref(synth, "bootstrap", "aws_kms_key", "state_key", "arn")},
        "state_kms_alias": {"value": "alias/serverless-app-tfstate"},
        "api_gateway_logging_role_arn": {
            "value": ref(synth, "bootstrap", "aws_iam_role", "account_logging_role", "arn")},
    }
