"""Network layer: VPC, public/private subnets per AZ, NAT, endpoints, flow logs and the
security group Lambda functions use. A workspace may switch the whole layer off."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cdktf import Fn, Postcondition, TerraformOutput, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_availability_zones import (
    DataAwsAvailabilityZones,
    DataAwsAvailabilityZonesFilter,
)
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.security_group import SecurityGroup, SecurityGroupEgress, SecurityGroupIngress
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from constructs import Construct

from modules.base_stack import LayerStack
from modules.config import WorkspaceSettings
from modules.iam import allow, assume_role_policy, policy_document

# Interface endpoints for the services the handlers' own code calls from the functions'
# network interfaces (the adapters in handlers/shared/aws: SNS publish, Step Functions
# StartExecution, and the pre-traffic hook's Lambda Invoke and CodeDeploy status report);
# DynamoDB and S3 go through the gateway endpoints. Prod turns them on so AWS traffic never
# leaves the VPC. No endpoint for what the Lambda service does on the function's behalf, which
# never crosses the function's interfaces: CloudWatch Logs delivery, X-Ray segments (sent to
# the daemon Lambda runs), KMS decryption of the environment, dead-letter SQS writes (AWS
# Lambda developer guide, "Giving Lambda functions access to resources in an Amazon VPC"
# and "Asynchronous invocation"). Each interface endpoint is billed per zone and hour.
INTERFACE_ENDPOINT_SERVICES = ("sns", "states", "lambda", "codedeploy")
FLOW_LOGS_SERVICE = "vpc-flow-logs.amazonaws.com"


def flow_logs_trust_policy(account_id: str, partition: str, region: str) -> str:
    """VPC Flow Logs may assume the role only for flow logs of this account and region,
    so no other account can make the service write into this account's log group
    (confused deputy)."""
    return assume_role_policy(FLOW_LOGS_SERVICE, source_account=account_id,
                              source_arn=f"arn:{partition}:ec2:{region}:{account_id}:vpc-flow-log/*")


def subnet_cidrs(vpc_cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """Public and private subnet CIDRs: the VPC split into 16 equal blocks, the first
    `az_count` public, the next `az_count` private; the rest is left for growth."""
    network = ipaddress.IPv4Network(vpc_cidr)
    blocks = [str(block) for block in network.subnets(prefixlen_diff=4)]
    return blocks[:az_count], blocks[az_count:2 * az_count]


@dataclass(frozen=True)
class NetworkInputs:
    settings: WorkspaceSettings
    kms_key_arn: str


@dataclass(frozen=True)
class NetworkOutputs:
    """What later layers read from the network layer: where functions are placed."""

    private_subnet_ids: tuple[str, ...]
    lambda_security_group_id: str


class NetworkLayer(Construct):
    """VPC with public and private subnets in `az_count` AZs."""

    def __init__(self, scope: Construct, id_: str, inputs: NetworkInputs) -> None:
        super().__init__(scope, id_)
        settings = inputs.settings
        self._settings = settings
        net = settings.network
        self.vpc = Vpc(self, "vpc", cidr_block=net.vpc_cidr, enable_dns_hostnames=True, enable_dns_support=True,
                       tags={"Name": settings.name("vpc")})
        DefaultSecurityGroup(self, "default_sg", vpc_id=self.vpc.id, ingress=[], egress=[])
        zones = self._zones(net.az_count)
        public_cidrs, private_cidrs = subnet_cidrs(net.vpc_cidr, net.az_count)
        self.public_subnets = [self._subnet("public", i, cidr, zones) for i, cidr in enumerate(public_cidrs)]
        self.private_subnets = [self._subnet("private", i, cidr, zones) for i, cidr in enumerate(private_cidrs)]
        self._build_public_routing()
        self.private_route_tables = self._build_private_routing()
        self._build_gateway_endpoints()
        self.lambda_security_group = self._build_lambda_security_group()
        if net.interface_endpoints:
            self._build_interface_endpoints()
        self._build_flow_logs(inputs.kms_key_arn)
        self.outputs = NetworkOutputs(private_subnet_ids=tuple(s.id for s in self.private_subnets),
                                      lambda_security_group_id=self.lambda_security_group.id)

    def _zones(self, az_count: int) -> list[str]:
        """The first `az_count` zones the region offers this account, by name.

        Letters are not fixed: a region may have two zones, and an account may lack a letter
        (AWS "Regions and Zones": zone names map to physical zones per account). The data
        source lists the account's zones sorted by name; without a `state` filter, so an
        impaired zone does not shift the list and replace subnets, and without Local or
        Wavelength Zones (only zones that need no opt-in). A region with too few zones fails
        the plan with the postcondition's message, before anything is created."""
        available = DataAwsAvailabilityZones(
            self, "zones",
            filter=[DataAwsAvailabilityZonesFilter(name="opt-in-status", values=["opt-in-not-required"])],
            lifecycle=TerraformResourceLifecycle(postcondition=[Postcondition(
                condition=f"${{length(self.names) >= {az_count}}}",
                error_message=f"network.az_count is {az_count}, but this region offers this account fewer "
                              "availability zones (see `aws ec2 describe-availability-zones`); lower az_count "
                              "for this workspace")]))
        return [Fn.element(available.names, index) for index in range(az_count)]

    def _subnet(self, tier: str, index: int, cidr: str, zones: list[str]) -> Subnet:
        # The zone list chooses a subnet's zone when the subnet is created; afterwards a change
        # in the list (a zone AWS adds or that becomes unavailable) must not move it, which
        # would replace the subnet and everything in it.
        return Subnet(self, f"{tier}_{index}", vpc_id=self.vpc.id, cidr_block=cidr,
                      availability_zone=zones[index], map_public_ip_on_launch=False,
                      tags={"Name": self._settings.name(f"{tier}-{index}"), "Tier": tier},
                      lifecycle=TerraformResourceLifecycle(ignore_changes=["availability_zone"]))

    def _build_public_routing(self) -> None:
        igw = InternetGateway(self, "igw", vpc_id=self.vpc.id, tags={"Name": self._settings.name("igw")})
        table = RouteTable(self, "public_rt", vpc_id=self.vpc.id, tags={"Name": self._settings.name("public")})
        Route(self, "public_default", route_table_id=table.id, destination_cidr_block="0.0.0.0/0",
              gateway_id=igw.id)
        for i, subnet in enumerate(self.public_subnets):
            RouteTableAssociation(self, f"public_assoc_{i}", subnet_id=subnet.id, route_table_id=table.id)
        self.internet_gateway = igw

    def _build_private_routing(self) -> list[RouteTable]:
        nats = []
        for i in range(self._settings.network.nat_gateway_count):
            eip = Eip(self, f"nat_eip_{i}", domain="vpc", tags={"Name": self._settings.name(f"nat-{i}")})
            nats.append(NatGateway(self, f"nat_{i}", allocation_id=eip.id, subnet_id=self.public_subnets[i].id,
                                   tags={"Name": self._settings.name(f"nat-{i}")},
                                   depends_on=[self.internet_gateway]))
        tables = []
        for i, subnet in enumerate(self.private_subnets):
            table = RouteTable(self, f"private_rt_{i}", vpc_id=self.vpc.id,
                               tags={"Name": self._settings.name(f"private-{i}")})
            if nats:
                Route(self, f"private_default_{i}", route_table_id=table.id, destination_cidr_block="0.0.0.0/0",
                      nat_gateway_id=nats[i % len(nats)].id)
            RouteTableAssociation(self, f"private_assoc_{i}", subnet_id=subnet.id, route_table_id=table.id)
            tables.append(table)
        return tables

    def _build_gateway_endpoints(self) -> None:
        for service in ("dynamodb", "s3"):
            VpcEndpoint(self, f"{service}_endpoint", vpc_id=self.vpc.id,
                        service_name=f"com.amazonaws.{self._settings.region}.{service}",
                        vpc_endpoint_type="Gateway", route_table_ids=[t.id for t in self.private_route_tables])

    def _build_lambda_security_group(self) -> SecurityGroup:
        # Functions only ever call AWS APIs over HTTPS; nothing calls into them.
        return SecurityGroup(
            self, "lambda_sg", name=self._settings.name("lambda"), vpc_id=self.vpc.id,
            description="Lambda functions: HTTPS egress only, no ingress",
            egress=[SecurityGroupEgress(description="HTTPS to AWS APIs", protocol="tcp", from_port=443,
                                        to_port=443, cidr_blocks=["0.0.0.0/0"])],
            ingress=[],
        )

    def _build_interface_endpoints(self) -> None:
        sg = SecurityGroup(
            self, "endpoints_sg", name=self._settings.name("endpoints"), vpc_id=self.vpc.id,
            description="Interface endpoints: HTTPS from inside the VPC",
            ingress=[SecurityGroupIngress(description="HTTPS from the VPC", protocol="tcp", from_port=443,
                                          to_port=443, cidr_blocks=[self._settings.network.vpc_cidr])],
            egress=[],
        )
        for service in INTERFACE_ENDPOINT_SERVICES:
            VpcEndpoint(self, f"{service}_interface_endpoint", vpc_id=self.vpc.id,
                        service_name=f"com.amazonaws.{self._settings.region}.{service}",
                        vpc_endpoint_type="Interface", private_dns_enabled=True,
                        subnet_ids=[s.id for s in self.private_subnets], security_group_ids=[sg.id])

    def _build_flow_logs(self, kms_key_arn: str) -> None:
        group = CloudwatchLogGroup(self, "flow_log_group", name=f"/vpc/{self._settings.name('flow-logs')}",
                                   retention_in_days=self._settings.log_retention_days, kms_key_id=kms_key_arn,
                                   # Audit data (the VPC's traffic record) kept nowhere else.
                                   lifecycle=TerraformResourceLifecycle(prevent_destroy=True)
                                   if self._settings.is_production_like else None)
        account_id = DataAwsCallerIdentity(self, "caller").account_id
        partition = DataAwsPartition(self, "partition").partition
        role = IamRole(self, "flow_log_role", name=self._settings.name("vpc-flow-logs"),
                       assume_role_policy=flow_logs_trust_policy(account_id, partition, self._settings.region))
        IamRolePolicy(self, "flow_log_policy", role=role.id, name="write-flow-logs", policy=policy_document(
            allow(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                  [group.arn, f"{group.arn}:*"]),
        ))
        FlowLog(self, "flow_log", vpc_id=self.vpc.id, traffic_type="ALL", log_destination=group.arn,
                log_destination_type="cloud-watch-logs", iam_role_arn=role.arn, max_aggregation_interval=60)


class NetworkStack(LayerStack):
    """`<workspace>-network`."""

    def __init__(self, scope: Construct, settings: WorkspaceSettings, kms_key_arn: str) -> None:
        super().__init__(scope, settings, "network")
        network = NetworkLayer(self, "network", NetworkInputs(settings, kms_key_arn))
        self.outputs = network.outputs
        TerraformOutput(self, "vpc_id", description="VPC of the workspace's functions", value=network.vpc.id)
        TerraformOutput(self, "private_subnet_ids", description="Private subnets the functions run in",
                        value=list(self.outputs.private_subnet_ids))
        TerraformOutput(self, "lambda_security_group_id",
                        description="Security group of the functions (HTTPS egress only)",
                        value=self.outputs.lambda_security_group_id)
