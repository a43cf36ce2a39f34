"""Property assertions on the bootstrap, security, network and data layers."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from modules.catalog import FUNCTIONS, dlq_names, rule_queues
from modules.config import LOCAL_DIFFERENCES, WORKSPACES
from tests.infra.synthesized import policy, ref, security_key_ref

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
    assert {"DenyUploadsNotSseKms", "DenyUploadsWithAnotherKey"} <= sids
    logging = synth.resource(stack, "aws_s3_bucket_logging", "code_bucket/logging")
    assert "log_bucket" in logging["target_bucket"]


@pytest.mark.parametrize("workspace", ("dev", "staging", "prod"))
def test_stream_failure_bucket_keeps_failed_batches_like_the_code(synth, workspace):
    """Issue 11: the stream mapping's S3 on-failure destination (records in full), encrypted with
    the workspace key, access-logged, protected outside dev, never expiring current objects."""
    stack = f"{workspace}-data"
    document, lifecycle = assert_secure_bucket(synth, stack, "stream_failure_bucket", kms=True)
    assert {"DenyUploadsNotSseKms", "DenyUploadsWithAnotherKey"} <= {s.get("Sid") for s in document["Statement"]}
    assert "expiration" not in lifecycle
    bucket = synth.resource(stack, "aws_s3_bucket", "stream_failure_bucket/bucket")
    assert bucket.get("lifecycle", {}).get("prevent_destroy", False) is PROTECTED[workspace]
    logging = synth.resource(stack, "aws_s3_bucket_logging", "stream_failure_bucket/logging")
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
        # Only the EventBridge rules' queues let a service in (EventBridge, for that rule).
        rule_queue = any(f"dlq_{name.replace('-', '_')}_" in queue_policy["queue_url"] for name in rule_queues())
        assert len(statements) == (2 if rule_queue else 1)


def test_events_topic_encrypted(synth):
    topic = synth.resource("dev-data", "aws_sns_topic", "events_topic")
    assert "terraform_remote_state" in topic["kms_master_key_id"]


def test_outputs_for_later_layers(synth):
    assert {"kms_key_arn"} <= set(synth.stack("dev-security")["output"])
    assert {"vpc_id", "private_subnet_ids", "lambda_security_group_id"} <= set(synth.stack("dev-network")["output"])
    assert {"table_name", "table_stream_arn", "idempotency_table_name", "code_bucket_name", "log_bucket_name",
            "events_topic_arn"} <= set(synth.stack("dev-data")["output"])


# --- references between resources and layers ---------------------------------------------

RETENTION = {"local": 7, "dev": 7, "staging": 30, "prod": 90}
PROTECTED = {"local": False, "dev": False, "staging": True, "prod": True}
AZS = {"dev": 2, "staging": 2, "prod": 3}


def data_ref(synth, stack, dtype, path, attribute):
    """The Terraform reference to an attribute of the data source at construct path `path`."""
    (unique_id,) = [uid for uid, cfg in synth.stack(stack)["data"][dtype].items()
                    if cfg["//"]["metadata"]["path"] == f"{stack}/{path}"]
    return f"${{data.{dtype}.{unique_id}.{attribute}}}"


# --- bootstrap: exact values ----------------------------------------------------------------

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
    # No upload guard on the state bucket (the backend's `encrypt` sends its own header).
    statements = policy(synth.resource("bootstrap", "aws_s3_bucket_policy", "state/policy")["policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["DenyInsecureTransport"]


def test_bootstrap_outputs(synth):
    outputs = synth.stack("bootstrap")["output"]
    assert outputs == {
        "state_bucket_name": {"value": ref(synth, "bootstrap", "aws_s3_bucket", "state/bucket", "bucket")},
        "state_kms_key_arn": {"value": ref(synth, "bootstrap", "aws_kms_key", "state_key", "arn")},
    }


# --- security: every workspace ---------------------------------------------------------------

@pytest.mark.parametrize("workspace", WORKSPACES)
def test_key_policy_of_every_workspace(synth, workspace):
    stack = f"{workspace}-security"
    account = data_ref(synth, stack, "aws_caller_identity", "security/caller", "account_id")
    partition = data_ref(synth, stack, "aws_partition", "security/partition", "partition")
    statements = policy(synth.resource(stack, "aws_kms_key", "key")["policy"])["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    assert len(by_sid) == len(statements) == 3
    assert by_sid["AccountAdministration"] == {
        "Sid": "AccountAdministration", "Effect": "Allow", "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
        "Action": "kms:*", "Resource": "*"}
    logs = by_sid["CloudWatchLogsOfThisAccount"]
    assert logs["Principal"] == {"Service": "logs.us-west-2.amazonaws.com"}
    assert logs["Action"] == ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*",
                              "kms:ReEncrypt*"]
    assert logs["Condition"] == {"ArnLike": {
        "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:us-west-2:{account}:*"}}
    services = by_sid["ServicesOfThisAccount"]
    assert services["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert services["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_security_outputs(synth, workspace):
    stack = f"{workspace}-security"
    outputs = {k: v for k, v in synth.stack(stack)["output"].items() if not k.startswith("cross-stack-output-")}
    assert outputs == {"kms_key_arn": {"value": ref(synth, stack, "aws_kms_key", "key", "arn")},
                       "kms_alias_name": {"value": f"alias/serverless-app-{workspace}-main"}}


# --- network: every workspace that has one -----------------------------------------------------

@pytest.mark.parametrize("workspace", NETWORKED)
def test_subnets_are_computed_from_the_vpc_cidr(synth, workspace):
    stack = f"{workspace}-network"
    vpc = ipaddress.IPv4Network(synth.resource(stack, "aws_vpc", "vpc")["cidr_block"])
    subnets = synth.resources(stack, "aws_subnet")
    networks = [ipaddress.IPv4Network(s["cidr_block"]) for s in subnets.values()]
    assert all(n.subnet_of(vpc) for n in networks)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(networks, 2))
    for tier in ("public", "private"):
        in_tier = [s for p, s in subnets.items() if f"/{tier}_" in p]
        assert len(in_tier) == AZS[workspace]
        assert sorted(s["availability_zone"] for s in in_tier) == [f"us-west-2{z}" for z in "abc"[:AZS[workspace]]]
        assert all(s["tags"]["Tier"] == tier for s in in_tier)


@pytest.mark.parametrize("workspace", NETWORKED)
def test_routes_public_to_igw_private_to_nat(synth, workspace):
    stack = f"{workspace}-network"
    azs = AZS[workspace]
    routes = synth.resources(stack, "aws_route")
    public = synth.resource(stack, "aws_route", "public_default")
    assert public["destination_cidr_block"] == "0.0.0.0/0"
    assert public["gateway_id"] == ref(synth, stack, "aws_internet_gateway", "igw", "id")
    assert public["route_table_id"] == ref(synth, stack, "aws_route_table", "public_rt", "id")
    nat_ids = {ref(synth, stack, "aws_nat_gateway", path.rsplit("/", 1)[1], "id")
               for path in synth.resources(stack, "aws_nat_gateway")}
    public_subnet_ids = {ref(synth, stack, "aws_subnet", f"public_{i}", "id") for i in range(azs)}
    for i in range(azs):
        route = synth.resource(stack, "aws_route", f"private_default_{i}")
        assert route["destination_cidr_block"] == "0.0.0.0/0"
        assert route["nat_gateway_id"] in nat_ids and "gateway_id" not in route
        assert route["route_table_id"] == ref(synth, stack, "aws_route_table", f"private_rt_{i}", "id")
        association = synth.resource(stack, "aws_route_table_association", f"private_assoc_{i}")
        assert association["subnet_id"] == ref(synth, stack, "aws_subnet", f"private_{i}", "id")
        assert association["route_table_id"] == route["route_table_id"]
        public_association = synth.resource(stack, "aws_route_table_association", f"public_assoc_{i}")
        assert public_association["subnet_id"] == ref(synth, stack, "aws_subnet", f"public_{i}", "id")
        assert public_association["route_table_id"] == public["route_table_id"]
    assert len(routes) == azs + 1
    for path, nat in synth.resources(stack, "aws_nat_gateway").items():
        index = path.rsplit("_", 1)[1]
        assert nat["subnet_id"] in public_subnet_ids
        assert nat["allocation_id"] == ref(synth, stack, "aws_eip", f"nat_eip_{index}", "id")
    # With one NAT per AZ, each private subnet leaves through its own zone's NAT.
    if workspace == "prod":
        assert {synth.resource(stack, "aws_route", f"private_default_{i}")["nat_gateway_id"]
                for i in range(azs)} == nat_ids


@pytest.mark.parametrize("workspace", NETWORKED)
def test_security_groups_and_endpoints_of_every_network(synth, workspace):
    stack = f"{workspace}-network"
    vpc_id = ref(synth, stack, "aws_vpc", "vpc", "id")
    sg = synth.resource(stack, "aws_security_group", "lambda_sg")
    assert sg["vpc_id"] == vpc_id and sg["ingress"] == []
    assert [(e["protocol"], e["from_port"], e["to_port"], e["cidr_blocks"]) for e in sg["egress"]] == [
        ("tcp", 443, 443, ["0.0.0.0/0"])]
    default = synth.resource(stack, "aws_default_security_group", "default_sg")
    assert default["vpc_id"] == vpc_id and default["ingress"] == [] and default["egress"] == []
    endpoints = synth.resources(stack, "aws_vpc_endpoint").values()
    private_tables = sorted(ref(synth, stack, "aws_route_table", f"private_rt_{i}", "id")
                            for i in range(AZS[workspace]))
    gateways = [e for e in endpoints if e["vpc_endpoint_type"] == "Gateway"]
    assert sorted(e["service_name"] for e in gateways) == ["com.amazonaws.us-west-2.dynamodb",
                                                          "com.amazonaws.us-west-2.s3"]
    assert all(sorted(e["route_table_ids"]) == private_tables for e in gateways)
    interface = [e for e in endpoints if e["vpc_endpoint_type"] == "Interface"]
    if workspace == "prod":
        assert len(interface) == 6
    else:  # switched off: no interface endpoints and no security group for them
        assert interface == []
        assert "network/endpoints_sg" not in synth.resources(stack, "aws_security_group")


@pytest.mark.parametrize("workspace", NETWORKED)
def test_flow_logs_of_every_network(synth, workspace):
    stack = f"{workspace}-network"
    group = synth.resource(stack, "aws_cloudwatch_log_group", "flow_log_group")
    assert group["retention_in_days"] == RETENTION[workspace]
    assert group["kms_key_id"] == security_key_ref(synth, workspace)
    flow = synth.resource(stack, "aws_flow_log", "flow_log")
    assert flow["log_destination"] == ref(synth, stack, "aws_cloudwatch_log_group", "flow_log_group", "arn")
    assert flow["iam_role_arn"] == ref(synth, stack, "aws_iam_role", "flow_log_role", "arn")


@pytest.mark.parametrize("workspace", NETWORKED)
def test_flow_log_role_trusts_the_service_only_for_this_account(synth, workspace):
    stack = f"{workspace}-network"
    account = data_ref(synth, stack, "aws_caller_identity", "network/caller", "account_id")
    partition = data_ref(synth, stack, "aws_partition", "network/partition", "partition")
    trust = policy(synth.resource(stack, "aws_iam_role", "flow_log_role")["assume_role_policy"])
    assert trust["Statement"] == [{
        "Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": f"arn:{partition}:ec2:us-west-2:{account}:vpc-flow-log/*"},
        },
    }]


@pytest.mark.parametrize("workspace", NETWORKED)
def test_network_outputs(synth, workspace):
    stack = f"{workspace}-network"
    outputs = {k: v for k, v in synth.stack(stack)["output"].items() if not k.startswith("cross-stack-output-")}
    assert outputs == {
        "vpc_id": {"value": ref(synth, stack, "aws_vpc", "vpc", "id")},
        "private_subnet_ids": {"value": [ref(synth, stack, "aws_subnet", f"private_{i}", "id")
                                         for i in range(AZS[workspace])]},
        "lambda_security_group_id": {"value": ref(synth, stack, "aws_security_group", "lambda_sg", "id")},
    }


# --- data: every workspace -----------------------------------------------------------------------

@pytest.mark.parametrize("workspace", WORKSPACES)
def test_table_attributes_and_capacity(synth, workspace):
    table = synth.resource(f"{workspace}-data", "aws_dynamodb_table", "table")
    assert {a["name"]: a["type"] for a in table["attribute"]} == {"pk": "S", "sk": "S", "gsi1pk": "S", "gsi1sk": "S"}
    assert table["server_side_encryption"]["kms_key_arn"] == security_key_ref(synth, workspace)
    (gsi,) = table["global_secondary_index"]
    capacity = 20 if workspace == "prod" else None
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
        configuration = scaling["target_tracking_scaling_policy_configuration"]
        assert configuration["predefined_metric_specification"] == {"predefined_metric_type": metric}
        assert configuration["target_value"] == 70


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_idempotency_table_in_every_workspace(synth, workspace):
    table = synth.resource(f"{workspace}-data", "aws_dynamodb_table", "idempotency_table")
    assert table["name"] == f"serverless-app-{workspace}-idempotency"
    assert table["hash_key"] == "id" and table["attribute"] == [{"name": "id", "type": "S"}]
    assert table["ttl"] == {"attribute_name": "expiration", "enabled": True}
    assert table["server_side_encryption"] == {"enabled": True, "kms_key_arn": security_key_ref(synth, workspace)}
    assert table["deletion_protection_enabled"] is PROTECTED[workspace]


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_log_bucket_in_every_workspace(synth, workspace):
    stack = f"{workspace}-data"
    bucket = synth.resource(stack, "aws_s3_bucket", "log_bucket/bucket")
    assert bucket.get("lifecycle", {}).get("prevent_destroy", False) is PROTECTED[workspace]
    if workspace != "local":
        assert_secure_bucket(synth, stack, "log_bucket", kms=False)
    account = data_ref(synth, stack, "aws_caller_identity", "data/caller", "account_id")
    statements = policy(synth.resource(stack, "aws_s3_bucket_policy", "log_bucket/policy")["policy"])["Statement"]
    (grant,) = [s for s in statements if s["Sid"] == "S3ServerAccessLogDelivery"]
    assert grant == {
        "Sid": "S3ServerAccessLogDelivery", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": ref(synth, stack, "aws_s3_bucket", "log_bucket/bucket", "arn") + "/*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": [f"arn:aws:s3:::serverless-app-{workspace}-code-{account}",
                                          f"arn:aws:s3:::serverless-app-{workspace}-stream-failures-{account}"]},
            "StringEquals": {"aws:SourceAccount": account},
        },
    }
    code = synth.resource(stack, "aws_s3_bucket", "code_bucket/bucket")
    assert code["bucket"] == f"serverless-app-{workspace}-code-{account}"


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_code_bucket_is_encrypted_with_the_security_key(synth, workspace):
    rule = synth.resource(f"{workspace}-data", "aws_s3_bucket_server_side_encryption_configuration",
                          "code_bucket/encryption")["rule"][0]
    assert rule["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms", "kms_master_key_id": security_key_ref(synth, workspace)}
    assert rule["bucket_key_enabled"] is True


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
    # test_code_bucket_is_encrypted_with_the_security_key) and is not denied, so multipart
    # parts (no headers) still go through.
    assert uploads == [
        {"Sid": "DenyUploadsNotSseKms", **deny,
         "Condition": {"Null": {algorithm: "false"}, "StringNotEquals": {algorithm: "aws:kms"}}},
        {"Sid": "DenyUploadsWithAnotherKey", **deny,
         "Condition": {"Null": {key: "false"}, "StringNotEquals": {key: security_key_ref(synth, workspace)}}},
    ]


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_every_app_upload_requests_sse_kms_with_the_security_key(synth, workspace):
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


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_app_and_observability_outputs_in_every_workspace(synth, workspace):
    """The stateless layers' outputs local mode, the e2e tests and operators read."""
    app = set(synth.stack(f"{workspace}-app")["output"])
    functions = {f"{spec.name.replace('-', '_')}_function_name" for spec in FUNCTIONS}
    assert {"api_url", "api_id", "api_alias_arn", "state_machine_arn", "api_key_id", "api_key_value"} | functions <= app
    observability = set(synth.stack(f"{workspace}-observability")["output"])
    assert {"alert_topic_arn", "dashboard_url", "api_url"} <= observability
