"""Property assertions on the network layer (dev, staging and prod; local has no network)."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from tests.infra.layer_helpers import data_ref
from tests.infra.synthesized import policy, ref, security_key_ref

NETWORKED = ("dev", "staging", "prod")
CIDR = {"dev": "10.10.0.0/16", "staging": "10.20.0.0/16", "prod": "10.30.0.0/16"}
AZS = {"dev": 2, "staging": 2, "prod": 3}
NATS = {"dev": 1, "staging": 1, "prod": 3}  # one shared NAT outside prod, one per AZ in prod
RETENTION = {"dev": 7, "staging": 30, "prod": 90}


@pytest.mark.parametrize("workspace", NETWORKED)
def test_subnets_are_computed_from_the_vpc_cidr(synth, workspace):
    # Given the workspace's VPC
    stack = f"{workspace}-network"
    vpc = synth.resource(stack, "aws_vpc", "vpc")
    assert vpc["cidr_block"] == CIDR[workspace]
    # When reading its subnets
    subnets = synth.resources(stack, "aws_subnet")
    networks = [ipaddress.IPv4Network(s["cidr_block"]) for s in subnets.values()]
    # Then they lie inside it without overlapping, one public and one private per AZ,
    # and none hands out public IPs
    assert all(n.subnet_of(ipaddress.IPv4Network(vpc["cidr_block"])) for n in networks)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(networks, 2))
    for tier in ("public", "private"):
        in_tier = [s for p, s in subnets.items() if f"/{tier}_" in p]
        assert len(in_tier) == AZS[workspace]
        # each in its own one of the first zones the region lists for the account
        [zones] = synth.stack(stack)["data"]["aws_availability_zones"]
        assert sorted(s["availability_zone"] for s in in_tier) == [
            f"${{element(data.aws_availability_zones.{zones}.names, {i})}}" for i in range(AZS[workspace])]
        assert all(s["tags"]["Tier"] == tier for s in in_tier)
    assert all(s["map_public_ip_on_launch"] is False for s in subnets.values())


@pytest.mark.parametrize("workspace", NETWORKED)
def test_routes_public_to_igw_private_to_nat(synth, workspace):
    stack = f"{workspace}-network"
    azs = AZS[workspace]
    # Given one internet gateway and the workspace's NAT gateways, each with its own elastic IP
    assert synth.count(stack, "aws_internet_gateway") == 1
    assert synth.count(stack, "aws_nat_gateway") == synth.count(stack, "aws_eip") == NATS[workspace]
    routes = synth.resources(stack, "aws_route")
    # Then the public route table leaves through the internet gateway ...
    public = synth.resource(stack, "aws_route", "public_default")
    assert public["destination_cidr_block"] == "0.0.0.0/0"
    assert public["gateway_id"] == ref(synth, stack, "aws_internet_gateway", "igw", "id")
    assert public["route_table_id"] == ref(synth, stack, "aws_route_table", "public_rt", "id")
    nat_ids = {ref(synth, stack, "aws_nat_gateway", path.rsplit("/", 1)[1], "id")
               for path in synth.resources(stack, "aws_nat_gateway")}
    public_subnet_ids = {ref(synth, stack, "aws_subnet", f"public_{i}", "id") for i in range(azs)}
    # ... every private subnet through a NAT, and every subnet is associated with its table
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
    assert synth.count(stack, "aws_route_table_association") == 2 * azs
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
    # The functions' group accepts nothing and may only call out over HTTPS; the default group allows nothing.
    sg = synth.resource(stack, "aws_security_group", "lambda_sg")
    assert sg["vpc_id"] == vpc_id and sg["ingress"] == []
    assert [(e["protocol"], e["from_port"], e["to_port"], e["cidr_blocks"]) for e in sg["egress"]] == [
        ("tcp", 443, 443, ["0.0.0.0/0"])]
    default = synth.resource(stack, "aws_default_security_group", "default_sg")
    assert default["vpc_id"] == vpc_id and default["ingress"] == [] and default["egress"] == []
    # DynamoDB and S3 are reached through gateway endpoints on every private route table.
    endpoints = synth.resources(stack, "aws_vpc_endpoint")
    private_tables = sorted(ref(synth, stack, "aws_route_table", f"private_rt_{i}", "id")
                            for i in range(AZS[workspace]))
    gateways = {p.rsplit("/", 1)[1]: e for p, e in endpoints.items() if e["vpc_endpoint_type"] == "Gateway"}
    assert {name: e["service_name"] for name, e in gateways.items()} == {
        "dynamodb_endpoint": "com.amazonaws.us-west-2.dynamodb", "s3_endpoint": "com.amazonaws.us-west-2.s3"}
    assert all(sorted(e["route_table_ids"]) == private_tables for e in gateways.values())
    interface = [e for e in endpoints.values() if e["vpc_endpoint_type"] == "Interface"]
    if workspace == "prod":
        # only the services the handlers call (tests/infra/contract/service_rules.py derives them)
        assert sorted(e["service_name"].rsplit(".", 1)[1] for e in interface) == [
            "codedeploy", "lambda", "sns", "states"]
        assert all(e["private_dns_enabled"] is True for e in interface)
    else:  # switched off: no interface endpoints and no security group for them
        assert interface == []
        assert "network/endpoints_sg" not in synth.resources(stack, "aws_security_group")


@pytest.mark.parametrize("workspace", NETWORKED)
def test_flow_logs_of_every_network(synth, workspace):
    stack = f"{workspace}-network"
    group_arn = ref(synth, stack, "aws_cloudwatch_log_group", "flow_log_group", "arn")
    # The group keeps the workspace's retention and is encrypted with the security layer's key.
    group = synth.resource(stack, "aws_cloudwatch_log_group", "flow_log_group")
    assert group["retention_in_days"] == RETENTION[workspace]
    assert group["kms_key_id"] == security_key_ref(synth, workspace)
    # All traffic of the VPC is logged into it through the flow log role ...
    flow = synth.resource(stack, "aws_flow_log", "flow_log")
    assert flow["traffic_type"] == "ALL" and flow["log_destination_type"] == "cloud-watch-logs"
    assert flow["log_destination"] == group_arn
    assert flow["iam_role_arn"] == ref(synth, stack, "aws_iam_role", "flow_log_role", "arn")
    # ... which may write log streams and events into this group only.
    role_policy = policy(synth.resource(stack, "aws_iam_role_policy", "flow_log_policy")["policy"])
    assert role_policy["Statement"] == [{
        "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
        "Resource": [group_arn, f"{group_arn}:*"]}]


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
    # Values only: descriptions are checked for every output in test_outputs.py.
    outputs = {k: {"value": v["value"]} for k, v in synth.stack(stack)["output"].items()
               if not k.startswith("cross-stack-output-")}
    assert outputs == {
        "vpc_id": {"value": ref(synth, stack, "aws_vpc", "vpc", "id")},
        "private_subnet_ids": {"value": [ref(synth, stack, "aws_subnet", f"private_{i}", "id")
                                         for i in range(AZS[workspace])]},
        "lambda_security_group_id": {"value": ref(synth, stack, "aws_security_group", "lambda_sg", "id")},
    }
