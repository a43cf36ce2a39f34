"""Property assertions on the data layer: the tables, the code and log buckets, the dead-letter
queues and the events topic."""

from __future__ import annotations

import pytest

from modules.catalog import dlq_names, rule_queues
from modules.config import LOCAL_DIFFERENCES, WORKSPACES
from tests.infra.layer_helpers import assert_secure_bucket, data_ref
from tests.infra.synthesized import policy, ref, security_key_ref

PROTECTED = {"local": False, "dev": False, "staging": True, "prod": True}
CODE_NONCURRENT_DAYS = {"local": 30, "dev": 30, "staging": 60, "prod": 90}


# --- the table -------------------------------------------------------------------------

@pytest.mark.parametrize("workspace", WORKSPACES)
def test_table_design_in_every_workspace(synth, workspace):
    table = synth.resource(f"{workspace}-data", "aws_dynamodb_table", "table")
    # Single-table design: string keys pk/sk and one GSI over gsi1pk/gsi1sk projecting everything.
    assert (table["hash_key"], table["range_key"]) == ("pk", "sk")
    assert {a["name"]: a["type"] for a in table["attribute"]} == {"pk": "S", "sk": "S", "gsi1pk": "S", "gsi1sk": "S"}
    (gsi,) = table["global_secondary_index"]
    assert (gsi["name"], gsi["hash_key"], gsi["range_key"], gsi["projection_type"]) == (
        "GSI1", "gsi1pk", "gsi1sk", "ALL")
    # A stream of both images, TTL on expires_at, point-in-time recovery, the security layer's key.
    assert table["stream_enabled"] is True and table["stream_view_type"] == "NEW_AND_OLD_IMAGES"
    assert table["ttl"] == {"attribute_name": "expires_at", "enabled": True}
    assert table["point_in_time_recovery"]["enabled"] is True
    assert table["server_side_encryption"] == {"enabled": True, "kms_key_arn": security_key_ref(synth, workspace)}


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_table_capacity_in_every_workspace(synth, workspace):
    stack = f"{workspace}-data"
    table = synth.resource(stack, "aws_dynamodb_table", "table")
    (gsi,) = table["global_secondary_index"]
    if workspace == "prod":
        # Provisioned at 20 units, table and index; autoscaling owns the numbers after creation.
        assert table["billing_mode"] == "PROVISIONED"
        assert set(table["lifecycle"]["ignore_changes"]) == {"read_capacity", "write_capacity",
                                                             "global_secondary_index"}
        capacity = 20
    else:
        # On demand: no capacity and nothing to scale.
        assert table["billing_mode"] == "PAY_PER_REQUEST"
        assert synth.count(stack, "aws_appautoscaling_target") == 0
        capacity = None
    for holder in (table, gsi):
        assert (holder.get("read_capacity"), holder.get("write_capacity")) == (capacity, capacity)


def test_prod_autoscaling_targets_and_policies(synth):
    stack = "prod-data"
    table_name = ref(synth, stack, "aws_dynamodb_table", "table", "name")
    expected = {
        "table_read": (f"table/{table_name}", "dynamodb:table:ReadCapacityUnits", "DynamoDBReadCapacityUtilization"),
        "table_write": (f"table/{table_name}", "dynamodb:table:WriteCapacityUnits",
                        "DynamoDBWriteCapacityUtilization"),
        "gsi1_read": (f"table/{table_name}/index/GSI1", "dynamodb:index:ReadCapacityUnits",
                      "DynamoDBReadCapacityUtilization"),
        "gsi1_write": (f"table/{table_name}/index/GSI1", "dynamodb:index:WriteCapacityUnits",
                       "DynamoDBWriteCapacityUtilization"),
    }
    assert synth.count(stack, "aws_appautoscaling_target") == synth.count(stack, "aws_appautoscaling_policy") == 4
    for name, (resource_id, dimension, metric) in expected.items():
        target = synth.resource(stack, "aws_appautoscaling_target", f"{name}_target")
        assert (target["service_namespace"], target["resource_id"], target["scalable_dimension"]) == (
            "dynamodb", resource_id, dimension)
        assert (target["min_capacity"], target["max_capacity"]) == (20, 1000)
        scaling = synth.resource(stack, "aws_appautoscaling_policy", f"{name}_policy")
        for attribute in ("resource_id", "scalable_dimension", "service_namespace"):
            assert scaling[attribute] == ref(synth, stack, "aws_appautoscaling_target", f"{name}_target", attribute)
        assert scaling["policy_type"] == "TargetTrackingScaling"
        configuration = scaling["target_tracking_scaling_policy_configuration"]
        assert configuration["predefined_metric_specification"] == {"predefined_metric_type": metric}
        assert configuration["target_value"] == 70


@pytest.mark.parametrize(("workspace", "protected"), [("local", False), ("dev", False), ("staging", True),
                                                      ("prod", True)])
def test_stateful_resources_protected_outside_dev(synth, workspace, protected):
    stack = f"{workspace}-data"
    table = synth.resource(stack, "aws_dynamodb_table", "table")
    assert table["deletion_protection_enabled"] is protected
    assert table.get("lifecycle", {}).get("prevent_destroy", False) is protected
    code = synth.resource(stack, "aws_s3_bucket", "code_bucket/bucket")
    assert code.get("lifecycle", {}).get("prevent_destroy", False) is protected
    assert code["force_destroy"] is (not protected)


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_idempotency_table_in_every_workspace(synth, workspace):
    table = synth.resource(f"{workspace}-data", "aws_dynamodb_table", "idempotency_table")
    assert table["name"] == f"serverless-app-{workspace}-idempotency"
    assert table["hash_key"] == "id" and table["attribute"] == [{"name": "id", "type": "S"}]
    assert table["ttl"] == {"attribute_name": "expiration", "enabled": True}
    assert table["server_side_encryption"] == {"enabled": True, "kms_key_arn": security_key_ref(synth, workspace)}
    assert table["deletion_protection_enabled"] is PROTECTED[workspace]


# --- the buckets -----------------------------------------------------------------------

@pytest.mark.parametrize("workspace", WORKSPACES)
def test_log_bucket_in_every_workspace(synth, workspace):
    stack = f"{workspace}-data"
    bucket = synth.resource(stack, "aws_s3_bucket", "log_bucket/bucket")
    assert bucket.get("lifecycle", {}).get("prevent_destroy", False) is PROTECTED[workspace]
    if workspace != "local":
        assert_secure_bucket(synth, stack, "log_bucket", kms=False)
    lifecycle = synth.resource(stack, "aws_s3_bucket_lifecycle_configuration", "log_bucket/lifecycle")["rule"][0]
    assert lifecycle["expiration"][0]["days"] == 90
    # Only S3 server access logging of this account's code bucket may write into it.
    account = data_ref(synth, stack, "aws_caller_identity", "data/caller", "account_id")
    partition = data_ref(synth, stack, "aws_partition", "data/partition", "partition")
    statements = policy(synth.resource(stack, "aws_s3_bucket_policy", "log_bucket/policy")["policy"])["Statement"]
    (grant,) = [s for s in statements if s["Sid"] == "S3ServerAccessLogDelivery"]
    assert grant == {
        "Sid": "S3ServerAccessLogDelivery", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": ref(synth, stack, "aws_s3_bucket", "log_bucket/bucket", "arn") + "/*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": [f"arn:{partition}:s3:::serverless-app-{workspace}-code-{account}",
                                          f"arn:{partition}:s3:::serverless-app-{workspace}-stream-failures-{account}"]},
            "StringEquals": {"aws:SourceAccount": account},
        },
    }
    code = synth.resource(stack, "aws_s3_bucket", "code_bucket/bucket")
    assert code["bucket"] == f"serverless-app-{workspace}-code-{account}"


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_code_bucket_in_every_workspace(synth, workspace):
    stack = f"{workspace}-data"
    if workspace != "local":  # local has no bucket policy (see test_local_bucket_policies_have_no_conditional_deny)
        assert_secure_bucket(synth, stack, "code_bucket", kms=True)
    # Encrypted by default with the security layer's key, through a bucket key.
    rule = synth.resource(stack, "aws_s3_bucket_server_side_encryption_configuration",
                          "code_bucket/encryption")["rule"][0]
    assert rule["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms", "kms_master_key_id": security_key_ref(synth, workspace)}
    assert rule["bucket_key_enabled"] is True
    # Old function versions are kept for the workspace's period; access is logged into the log bucket.
    lifecycle = synth.resource(stack, "aws_s3_bucket_lifecycle_configuration", "code_bucket/lifecycle")["rule"][0]
    assert lifecycle["noncurrent_version_expiration"][0]["noncurrent_days"] == CODE_NONCURRENT_DAYS[workspace]
    logging = synth.resource(stack, "aws_s3_bucket_logging", "code_bucket/logging")
    assert logging["target_bucket"] == ref(synth, stack, "aws_s3_bucket", "log_bucket/bucket", "id")


@pytest.mark.parametrize("workspace", ("dev", "staging", "prod"))
def test_code_bucket_denies_uploads_not_sse_kms_with_its_key(synth, workspace):
    stack = f"{workspace}-data"
    objects = ref(synth, stack, "aws_s3_bucket", "code_bucket/bucket", "arn") + "/*"
    statements = policy(synth.resource(stack, "aws_s3_bucket_policy", "code_bucket/policy")["policy"])["Statement"]
    uploads = [s for s in statements if s.get("Action") == "s3:PutObject"]
    deny = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:PutObject", "Resource": objects}
    algorithm, key = "s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id"
    # An upload asking for another algorithm, or for SSE-KMS with another key, is denied.
    # One without headers is encrypted by the bucket default with this key (see
    # test_code_bucket_in_every_workspace) and is not denied, so multipart
    # parts (no headers) still go through. SSE-KMS without a key id (the AWS managed key
    # aws/s3) is denied.
    assert uploads == [
        {"Sid": "DenyUploadsNotSseKms", **deny,
         "Condition": {"Null": {algorithm: "false"}, "StringNotEquals": {algorithm: "aws:kms"}}},
        {"Sid": "DenyUploadsWithAnotherKey", **deny,
         "Condition": {"Null": {key: "false"}, "StringNotEquals": {key: security_key_ref(synth, workspace)}}},
        {"Sid": "DenyUploadsWithTheAwsManagedKey", **deny,
         "Condition": {"StringEquals": {algorithm: "aws:kms"}, "Null": {key: "true"}}},
    ]


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_every_app_upload_requests_sse_kms_with_the_security_key(synth, workspace):
    """The app layer's uploads into the code bucket pass its guard (the statements above)."""
    stack = f"{workspace}-app"
    objects = synth.resources(stack, "aws_s3_object")
    assert objects
    for path, obj in objects.items():
        assert obj["server_side_encryption"] == "aws:kms", path
        assert obj["kms_key_id"] == security_key_ref(synth, workspace), path


def test_local_bucket_policies_have_no_conditional_deny(synth):
    """The documented local difference (config.LOCAL_DIFFERENCES["s3_guard_policies"])."""
    assert LOCAL_DIFFERENCES["s3_guard_policies"][0] is False
    local_policies = [(name, path, document) for name in synth.stack_names() if name.startswith("local-")
                      for path, document in synth.resources(name, "aws_s3_bucket_policy").items()]
    assert local_policies  # the log bucket still grants log delivery
    for name, path, document in local_policies:
        denies = [s for s in policy(document["policy"])["Statement"] if s["Effect"] == "Deny"]
        assert denies == [], (name, path)
    assert "code_bucket/policy" not in synth.resources("local-data", "aws_s3_bucket_policy")


# --- queues, topic and outputs -----------------------------------------------------------

@pytest.mark.parametrize("workspace", WORKSPACES)
def test_dead_letter_queues(synth, workspace):
    stack = f"{workspace}-data"
    queues = synth.resources(stack, "aws_sqs_queue")
    assert sorted(q["name"] for q in queues.values()) == sorted(
        f"serverless-app-{workspace}-{name}-dlq" for name in dlq_names())
    for queue in queues.values():
        assert queue["message_retention_seconds"] == 1_209_600
        assert "terraform_remote_state" in queue["kms_master_key_id"]
    policies = synth.resources(stack, "aws_sqs_queue_policy")
    assert len(policies) == len(queues)
    for queue_policy in policies.values():
        statements = policy(queue_policy["policy"])["Statement"]
        tls = next(s for s in statements if s["Sid"] == "DenyInsecureTransport")
        assert tls["Effect"] == "Deny" and tls["Condition"]["Bool"]["aws:SecureTransport"] == "false"
        # Only the EventBridge rules' queues let a service in (EventBridge, for that rule).
        rule_queue = any(f"dlq_{name.replace('-', '_')}_" in queue_policy["queue_url"] for name in rule_queues())
        assert len(statements) == (2 if rule_queue else 1)


@pytest.mark.parametrize("workspace", ("dev", "staging", "prod"))
def test_stream_failure_bucket_keeps_failed_batches_like_the_code(synth, workspace):
    """The stream mapping's S3 on-failure destination (records in full), encrypted with the
    workspace key, access-logged, protected outside dev, never expiring current objects."""
    stack = f"{workspace}-data"
    document, lifecycle = assert_secure_bucket(synth, stack, "stream_failure_bucket", kms=True)
    assert {"DenyUploadsNotSseKms", "DenyUploadsWithAnotherKey"} <= {s.get("Sid") for s in document["Statement"]}
    assert "expiration" not in lifecycle
    bucket = synth.resource(stack, "aws_s3_bucket", "stream_failure_bucket/bucket")
    assert bucket.get("lifecycle", {}).get("prevent_destroy", False) is PROTECTED[workspace]
    logging = synth.resource(stack, "aws_s3_bucket_logging", "stream_failure_bucket/logging")
    assert "log_bucket" in logging["target_bucket"]


def test_events_topic_encrypted(synth):
    topic = synth.resource("dev-data", "aws_sns_topic", "events_topic")
    assert "terraform_remote_state" in topic["kms_master_key_id"]


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_data_outputs(synth, workspace):
    stack = f"{workspace}-data"
    outputs = {k: v["value"] for k, v in synth.stack(stack)["output"].items()
               if not k.startswith("cross-stack-output-")}
    assert outputs == {
        "table_name": ref(synth, stack, "aws_dynamodb_table", "table", "name"),
        "table_stream_arn": ref(synth, stack, "aws_dynamodb_table", "table", "stream_arn"),
        "idempotency_table_name": ref(synth, stack, "aws_dynamodb_table", "idempotency_table", "name"),
        "code_bucket_name": ref(synth, stack, "aws_s3_bucket", "code_bucket/bucket", "bucket"),
        "log_bucket_name": ref(synth, stack, "aws_s3_bucket", "log_bucket/bucket", "bucket"),
        "events_topic_arn": ref(synth, stack, "aws_sns_topic", "events_topic", "arn"),
        "stream_failure_bucket_name": ref(synth, stack, "aws_s3_bucket", "stream_failure_bucket/bucket", "bucket"),
    }
