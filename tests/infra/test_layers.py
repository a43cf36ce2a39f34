"""Property assertions on the bootstrap, security, network and data layers."""

from __future__ import annotations

import pytest

from modules.catalog import dlq_names
from modules.config import WORKSPACES
from tests.infra.synthesized import policy

NETWORKED = ("dev", "staging", "prod")


def assert_secure_bucket(synth, stack, path, *, kms: bool):
    synth.resource(stack, "aws_s3_bucket", f"{path}/bucket")
    versioning = synth.resource(stack, "aws_s3_bucket_versioning", f"{path}/versioning")
    assert versioning["versioning_configuration"]["status"] == "Enabled"
    rule = synth.resource(stack, "aws_s3_bucket_server_side_encryption_configuration", f"{path}/encryption")["rule"][0]
    default = rule["apply_server_side_encryption_by_default"]
    if kms:
        assert default["sse_algorithm"] == "aws:kms" and default["kms_master_key_id"]
        assert rule["bucket_key_enabled"] is True
    else:
        assert default["sse_algorithm"] == "AES256"
    block = synth.resource(stack, "aws_s3_bucket_public_access_block", f"{path}/public_access_block")
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                          "restrict_public_buckets"))
    ownership = synth.resource(stack, "aws_s3_bucket_ownership_controls", f"{path}/ownership")
    assert ownership["rule"]["object_ownership"] == "BucketOwnerEnforced"
    document = policy(synth.resource(stack, "aws_s3_bucket_policy", f"{path}/policy")["policy"])
    tls = [s for s in document["Statement"] if s.get("Sid") == "DenyInsecureTransport"]
    assert tls and tls[0]["Effect"] == "Deny"
    assert tls[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    lifecycle = synth.resource(stack, "aws_s3_bucket_lifecycle_configuration", f"{path}/lifecycle")["rule"][0]
    assert lifecycle["status"] == "Enabled"
    assert lifecycle["noncurrent_version_expiration"][0]["noncurrent_days"] >= 1
    assert lifecycle["abort_incomplete_multipart_upload"][0]["days_after_initiation"] == 7
    return document, lifecycle


# --- bootstrap -------------------------------------------------------------------------

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


# --- security --------------------------------------------------------------------------

@pytest.mark.parametrize(("workspace", "window"), [("local", 7), ("dev", 7), ("staging", 30), ("prod", 30)])
def test_kms_key_rotation_window_and_alias(synth, workspace, window):
    stack = f"{workspace}-security"
    key = synth.resource(stack, "aws_kms_key", "key")
    assert key["enable_key_rotation"] is True
    assert key["deletion_window_in_days"] == window
    alias = synth.resource(stack, "aws_kms_alias", "alias")
    assert alias["name"] == f"alias/serverless-app-{workspace}-main"


def test_key_policy_scopes_logs_and_services_to_the_account(synth):
    document = policy(synth.resource("prod-security", "aws_kms_key", "key")["policy"])
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    assert by_sid["AccountAdministration"]["Principal"]["AWS"].endswith(":root")
    logs = by_sid["CloudWatchLogsOfThisAccount"]
    assert logs["Principal"]["Service"] == "logs.us-west-2.amazonaws.com"
    context = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert context.startswith("arn:${data.aws_partition.") and ":logs:us-west-2:${data.aws_caller_identity." in context
    services = by_sid["ServicesOfThisAccount"]
    assert set(services["Principal"]["Service"]) == {"sns.amazonaws.com", "sqs.amazonaws.com",
                                                      "cloudwatch.amazonaws.com", "events.amazonaws.com"}
    assert "aws:SourceAccount" in services["Condition"]["StringEquals"]
    assert "kms:*" not in services["Action"]


# --- network ---------------------------------------------------------------------------

@pytest.mark.parametrize(("workspace", "azs", "nats", "cidr"), [
    ("dev", 2, 1, "10.10.0.0/16"), ("staging", 2, 1, "10.20.0.0/16"), ("prod", 3, 3, "10.30.0.0/16")])
def test_vpc_subnets_and_nat_per_workspace(synth, workspace, azs, nats, cidr):
    stack = f"{workspace}-network"
    assert synth.resource(stack, "aws_vpc", "vpc")["cidr_block"] == cidr
    subnets = synth.resources(stack, "aws_subnet")
    public = [s for p, s in subnets.items() if "/public_" in p]
    private = [s for p, s in subnets.items() if "/private_" in p]
    assert len(public) == len(private) == azs
    assert len({s["availability_zone"] for s in private}) == azs
    assert all(s["map_public_ip_on_launch"] is False for s in subnets.values())
    assert synth.count(stack, "aws_nat_gateway") == nats
    assert synth.count(stack, "aws_eip") == nats
    assert synth.count(stack, "aws_internet_gateway") == 1
    private_routes = [r for p, r in synth.resources(stack, "aws_route").items() if "private_default" in p]
    assert len(private_routes) == azs  # every private subnet reaches a NAT
    assert synth.count(stack, "aws_route_table_association") == 2 * azs


def test_lambda_security_group_allows_only_https_egress(synth):
    sg = synth.resource("dev-network", "aws_security_group", "lambda_sg")
    assert sg["ingress"] == []
    (egress,) = sg["egress"]
    assert (egress["protocol"], egress["from_port"], egress["to_port"]) == ("tcp", 443, 443)
    default = synth.resource("dev-network", "aws_default_security_group", "default_sg")
    assert default["ingress"] == [] and default["egress"] == []


def test_gateway_endpoints_on_private_route_tables(synth):
    endpoints = synth.resources("staging-network", "aws_vpc_endpoint")
    gateways = {p.rsplit("/", 1)[1]: e for p, e in endpoints.items() if e["vpc_endpoint_type"] == "Gateway"}
    assert set(gateways) == {"dynamodb_endpoint", "s3_endpoint"}
    for endpoint in gateways.values():
        assert len(endpoint["route_table_ids"]) == 2
        assert all("private_rt" in ref for ref in endpoint["route_table_ids"])
    interface_prod = [e for e in synth.resources("prod-network", "aws_vpc_endpoint").values()
                      if e["vpc_endpoint_type"] == "Interface"]
    assert len(interface_prod) == 6 and all(e["private_dns_enabled"] for e in interface_prod)


def test_flow_logs_encrypted_with_retention_and_scoped_role(synth):
    group = synth.resource("prod-network", "aws_cloudwatch_log_group", "flow_log_group")
    assert group["retention_in_days"] == 90
    assert "terraform_remote_state" in group["kms_key_id"]  # the security layer's key
    flow = synth.resource("prod-network", "aws_flow_log", "flow_log")
    assert flow["traffic_type"] == "ALL" and flow["log_destination_type"] == "cloud-watch-logs"
    role_policy = policy(synth.resource("prod-network", "aws_iam_role_policy", "flow_log_policy")["policy"])
    (statement,) = role_policy["Statement"]
    assert "*" not in statement["Resource"]
    assert all(action.startswith("logs:") for action in statement["Action"])


# --- data ------------------------------------------------------------------------------

@pytest.mark.parametrize("workspace", WORKSPACES)
def test_table_design(synth, workspace):
    table = synth.resource(f"{workspace}-data", "aws_dynamodb_table", "table")
    assert (table["hash_key"], table["range_key"]) == ("pk", "sk")
    (gsi,) = table["global_secondary_index"]
    assert (gsi["name"], gsi["hash_key"], gsi["range_key"], gsi["projection_type"]) == (
        "GSI1", "gsi1pk", "gsi1sk", "ALL")
    assert table["stream_enabled"] is True and table["stream_view_type"] == "NEW_AND_OLD_IMAGES"
    assert table["ttl"] == {"attribute_name": "expires_at", "enabled": True}
    assert table["point_in_time_recovery"]["enabled"] is True
    assert table["server_side_encryption"]["enabled"] is True
    assert "terraform_remote_state" in table["server_side_encryption"]["kms_key_arn"]


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


def test_on_demand_outside_prod_and_autoscaling_in_prod(synth):
    for workspace in ("local", "dev", "staging"):
        assert synth.resource(f"{workspace}-data", "aws_dynamodb_table", "table")["billing_mode"] == "PAY_PER_REQUEST"
        assert synth.count(f"{workspace}-data", "aws_appautoscaling_target") == 0
    table = synth.resource("prod-data", "aws_dynamodb_table", "table")
    assert table["billing_mode"] == "PROVISIONED"
    assert set(table["lifecycle"]["ignore_changes"]) == {"read_capacity", "write_capacity"}
    targets = synth.resources("prod-data", "aws_appautoscaling_target")
    dimensions = sorted(t["scalable_dimension"] for t in targets.values())
    assert dimensions == ["dynamodb:index:ReadCapacityUnits", "dynamodb:index:WriteCapacityUnits",
                          "dynamodb:table:ReadCapacityUnits", "dynamodb:table:WriteCapacityUnits"]
    assert all((t["min_capacity"], t["max_capacity"]) == (20, 1000) for t in targets.values())
    policies = synth.resources("prod-data", "aws_appautoscaling_policy")
    assert len(policies) == 4
    for scaling in policies.values():
        config = scaling["target_tracking_scaling_policy_configuration"]
        assert config["target_value"] == 70
        assert scaling["policy_type"] == "TargetTrackingScaling"


def test_idempotency_table(synth):
    table = synth.resource("dev-data", "aws_dynamodb_table", "idempotency_table")
    assert table["hash_key"] == "id"
    assert table["ttl"] == {"attribute_name": "expiration", "enabled": True}
    assert table["server_side_encryption"]["enabled"] is True and table["server_side_encryption"]["kms_key_arn"]


@pytest.mark.parametrize(("workspace", "noncurrent"), [("dev", 30), ("staging", 60), ("prod", 90)])
def test_code_bucket(synth, workspace, noncurrent):
    stack = f"{workspace}-data"
    document, lifecycle = assert_secure_bucket(synth, stack, "code_bucket", kms=True)
    assert lifecycle["noncurrent_version_expiration"][0]["noncurrent_days"] == noncurrent
    sids = {s.get("Sid") for s in document["Statement"]}
    assert "DenyUnencryptedUploads" in sids
    logging = synth.resource(stack, "aws_s3_bucket_logging", "code_bucket/logging")
    assert "log_bucket" in logging["target_bucket"]


def test_log_bucket_uses_sse_s3_and_expires_after_90_days(synth):
    _document, lifecycle = assert_secure_bucket(synth, "dev-data", "log_bucket", kms=False)
    assert lifecycle["expiration"][0]["days"] == 90


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
        # Only the schedule's queue lets a service in (EventBridge, for the digest rule).
        assert len(statements) == (2 if "dlq_schedule" in queue_policy["queue_url"] else 1)


def test_events_topic_encrypted(synth):
    topic = synth.resource("dev-data", "aws_sns_topic", "events_topic")
    assert "terraform_remote_state" in topic["kms_master_key_id"]


def test_outputs_for_later_layers(synth):
    assert {"kms_key_arn"} <= set(synth.stack("dev-security")["output"])
    assert {"vpc_id", "private_subnet_ids", "lambda_security_group_id"} <= set(synth.stack("dev-network")["output"])
    assert {"table_name", "table_stream_arn", "idempotency_table_name", "code_bucket_name", "log_bucket_name",
            "events_topic_arn"} <= set(synth.stack("dev-data")["output"])
