"""What Terraform calls on AWS, per resource type of the workspace stacks: the documented
source of the CI roles' policies (modules/ci.py) and of their proof (tests/infra/test_ci_identities.py).

Per type: `refresh`, the read calls of the AWS provider 5.100's Read function (what
`terraform plan` refreshes with; the plan role gets only these) and `apply`, the calls of
Create/Update/Delete (the deploy role, which plans too, gets both). Each action is scoped
to one `SCOPES` entry: ARN patterns under the workspace's `{project}-{workspace}-` name
prefix where the service has resource-level permissions and names are ours, `*` only where
the service documents none for the action (the Service Authorization Reference:
Describe/List calls, creates whose ARN is a random id).

Deliberately absent, so that pull-request code cannot read what the product stores: item
reads (dynamodb:GetItem/Query/Scan), queue reads (sqs:ReceiveMessage), object reads of the
log, archive and stream-failure buckets, and kms:Decrypt on the workspace key.
Two reads refresh needs that touch managed data, named where they are granted:
s3:GetObject on the code bucket's objects (the function zips, code that is public in the
repository anyway) and apigateway:GET on the API key (the provider reads the key value into
state; a plan role can therefore read the API key: docs/delivery.md, "Plan role exposure").
"""

from __future__ import annotations

from dataclasses import dataclass

Need = tuple[tuple[str, ...], str]  # (actions, scope name)

# ARN patterns per scope, formatted with p (partition), r (region), a (account id),
# n (`{project}-{workspace}` name prefix).
SCOPES: dict[str, tuple[str, ...]] = {
    "*": ("*",),
    "apigateway": tuple(f"arn:{{p}}:apigateway:{{r}}::/{path}" for path in (
        "restapis", "restapis/*", "apikeys", "apikeys/*", "usageplans", "usageplans/*", "tags/*")),
    "http_apis": tuple(f"arn:{{p}}:apigateway:{{r}}::/{path}" for path in ("apis", "apis/*", "tags/*")),
    "api_domains": tuple(f"arn:{{p}}:apigateway:{{r}}::/{path}" for path in ("domainnames", "domainnames/*")),
    "alarms": ("arn:{p}:cloudwatch:{r}:{a}:alarm:{n}-*",),
    "dashboards": ("arn:{p}:cloudwatch::{a}:dashboard/{n}-*",),
    "events": ("arn:{p}:events:{r}:{a}:rule/{n}-*",),
    "logs": ("arn:{p}:logs:{r}:{a}:log-group:*{n}-*",),
    "codedeploy": ("arn:{p}:codedeploy:{r}:{a}:application:{n}-*", "arn:{p}:codedeploy:{r}:{a}:deploymentgroup:{n}-*"),
    "deployment_configs": ("arn:{p}:codedeploy:{r}:{a}:deploymentconfig:*",),
    "dynamodb": ("arn:{p}:dynamodb:{r}:{a}:table/{n}-*",),
    "ec2": ("arn:{p}:ec2:{r}:{a}:*",),  # VPC resources are named by random ids at creation
    "firehose": ("arn:{p}:firehose:{r}:{a}:deliverystream/{n}-*",),
    "roles": ("arn:{p}:iam::{a}:role/{n}-*",),
    "keys": ("arn:{p}:kms:{r}:{a}:key/*",),  # key ids are random; the alias is ours
    "aliases": ("arn:{p}:kms:{r}:{a}:alias/{n}-*", "arn:{p}:kms:{r}:{a}:key/*"),
    "functions": ("arn:{p}:lambda:{r}:{a}:function:{n}-*",),
    "layers": ("arn:{p}:lambda:{r}:{a}:layer:{n}-*",),
    "mappings": ("arn:{p}:lambda:{r}:{a}:event-source-mapping:*",),
    "buckets": ("arn:{p}:s3:::{n}-*",),
    "code_objects": ("arn:{p}:s3:::{n}-code-*/*",),
    "state_machines": ("arn:{p}:states:{r}:{a}:stateMachine:{n}-*",),
    "topics": ("arn:{p}:sns:{r}:{a}:{n}-*",),
    "queues": ("arn:{p}:sqs:{r}:{a}:{n}-*",),
    "web_acls": ("arn:{p}:wafv2:{r}:{a}:regional/webacl/{n}-*/*",),
}


@dataclass(frozen=True)
class TypeNeeds:
    refresh: tuple[Need, ...]
    apply: tuple[Need, ...] = ()


def _ec2(describe: tuple[str, ...], manage: tuple[str, ...]) -> TypeNeeds:
    return TypeNeeds(((describe, "*"),), ((manage, "ec2"),))


_APIGW_WRITES = ("apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE")


def _apigw(scope: str) -> TypeNeeds:
    return TypeNeeds(((("apigateway:GET",), scope),), ((_APIGW_WRITES, scope),))


_APIGW = _apigw("apigateway")
_LOG_DELIVERY = ("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
                 "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
                 "logs:DescribeLogGroups")
_PASS_ROLE = (("iam:PassRole",), "roles")
_CODE_READ = (("s3:GetObject",), "code_objects")
_ROUTES = ("ec2:DescribeRouteTables",)
_BUCKET_READS = ("s3:ListBucket", "s3:GetBucketPolicy", "s3:GetBucketVersioning", "s3:GetEncryptionConfiguration",
                 "s3:GetLifecycleConfiguration", "s3:GetBucketLogging", "s3:GetBucketOwnershipControls",
                 "s3:GetBucketPublicAccessBlock", "s3:GetBucketTagging", "s3:GetBucketAcl", "s3:GetBucketCORS",
                 "s3:GetBucketWebsite", "s3:GetAccelerateConfiguration", "s3:GetBucketRequestPayment",
                 "s3:GetReplicationConfiguration", "s3:GetBucketObjectLockConfiguration")

# Resource and data source types -> the calls the AWS provider makes for them.
TYPE_NEEDS: dict[str, TypeNeeds] = {
    **dict.fromkeys((
        "aws_api_gateway_api_key", "aws_api_gateway_deployment", "aws_api_gateway_gateway_response",
        "aws_api_gateway_integration", "aws_api_gateway_integration_response", "aws_api_gateway_method",
        "aws_api_gateway_method_response", "aws_api_gateway_method_settings", "aws_api_gateway_model",
        "aws_api_gateway_request_validator", "aws_api_gateway_resource", "aws_api_gateway_rest_api",
        "aws_api_gateway_stage", "aws_api_gateway_usage_plan", "aws_api_gateway_usage_plan_key"), _APIGW),
    **dict.fromkeys(("aws_apigatewayv2_api", "aws_apigatewayv2_integration", "aws_apigatewayv2_route",
                     "aws_apigatewayv2_stage"), _apigw("http_apis")),
    # A custom domain (API_DOMAIN_NAME): the domain and its mapping to the API.
    **dict.fromkeys(("aws_api_gateway_domain_name", "aws_api_gateway_base_path_mapping",
                     "aws_apigatewayv2_domain_name", "aws_apigatewayv2_api_mapping"), _apigw("api_domains")),
    "aws_appautoscaling_target": TypeNeeds(
        ((("application-autoscaling:DescribeScalableTargets", "application-autoscaling:ListTagsForResource"), "*"),),
        ((("application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget",
           "application-autoscaling:TagResource", "application-autoscaling:UntagResource"), "*"),)),
    "aws_appautoscaling_policy": TypeNeeds(
        ((("application-autoscaling:DescribeScalingPolicies",), "*"),),
        ((("application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy",
           "cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"), "*"),)),
    "aws_cloudwatch_dashboard": TypeNeeds(
        ((("cloudwatch:GetDashboard",), "dashboards"),),
        ((("cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"), "dashboards"),)),
    "aws_cloudwatch_metric_alarm": TypeNeeds(
        ((("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"), "alarms"),),
        ((("cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource",
           "cloudwatch:UntagResource"), "alarms"),)),
    "aws_cloudwatch_event_rule": TypeNeeds(
        ((("events:DescribeRule", "events:ListTagsForResource"), "events"),),
        ((("events:PutRule", "events:DeleteRule", "events:TagResource", "events:UntagResource"), "events"),)),
    "aws_cloudwatch_event_target": TypeNeeds(
        ((("events:ListTargetsByRule",), "events"),),
        ((("events:PutTargets", "events:RemoveTargets"), "events"), _PASS_ROLE)),
    "aws_cloudwatch_log_group": TypeNeeds(
        ((("logs:DescribeLogGroups",), "*"), (("logs:ListTagsForResource",), "logs")),
        ((("logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
           "logs:AssociateKmsKey", "logs:DisassociateKmsKey", "logs:TagResource", "logs:UntagResource"), "logs"),)),
    "aws_cloudwatch_log_subscription_filter": TypeNeeds(
        ((("logs:DescribeSubscriptionFilters",), "logs"),),
        ((("logs:PutSubscriptionFilter", "logs:DeleteSubscriptionFilter"), "logs"), _PASS_ROLE)),
    "aws_codedeploy_app": TypeNeeds(
        ((("codedeploy:GetApplication", "codedeploy:ListTagsForResource"), "codedeploy"),),
        ((("codedeploy:CreateApplication", "codedeploy:UpdateApplication", "codedeploy:DeleteApplication",
           "codedeploy:TagResource", "codedeploy:UntagResource"), "codedeploy"),)),
    "aws_codedeploy_deployment_group": TypeNeeds(
        ((("codedeploy:GetDeploymentGroup",), "codedeploy"),),
        ((("codedeploy:CreateDeploymentGroup", "codedeploy:UpdateDeploymentGroup",
           "codedeploy:DeleteDeploymentGroup"), "codedeploy"), _PASS_ROLE)),
    "aws_dynamodb_table": TypeNeeds(
        ((("dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTimeToLive",
           "dynamodb:ListTagsOfResource"), "dynamodb"),),
        ((("dynamodb:CreateTable", "dynamodb:UpdateTable", "dynamodb:DeleteTable", "dynamodb:UpdateContinuousBackups",
           "dynamodb:UpdateTimeToLive", "dynamodb:TagResource", "dynamodb:UntagResource"), "dynamodb"),
         # A table encrypted with the workspace key: DynamoDB creates a grant as the caller.
         (("kms:CreateGrant", "kms:DescribeKey"), "keys"))),
    "aws_default_security_group": _ec2(("ec2:DescribeSecurityGroups",), (
        "ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress", "ec2:CreateTags", "ec2:DeleteTags")),
    "aws_eip": _ec2(("ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute"), (
        "ec2:AllocateAddress", "ec2:ReleaseAddress", "ec2:DisassociateAddress", "ec2:CreateTags", "ec2:DeleteTags")),
    "aws_flow_log": TypeNeeds(
        ((("ec2:DescribeFlowLogs",), "*"),),
        ((("ec2:CreateFlowLogs", "ec2:DeleteFlowLogs", "ec2:CreateTags", "ec2:DeleteTags"), "ec2"), _PASS_ROLE)),
    "aws_internet_gateway": _ec2(("ec2:DescribeInternetGateways",), (
        "ec2:CreateInternetGateway", "ec2:AttachInternetGateway", "ec2:DetachInternetGateway",
        "ec2:DeleteInternetGateway", "ec2:CreateTags", "ec2:DeleteTags")),
    "aws_nat_gateway": _ec2(("ec2:DescribeNatGateways",), (
        "ec2:CreateNatGateway", "ec2:DeleteNatGateway", "ec2:CreateTags", "ec2:DeleteTags")),
    "aws_route": _ec2(_ROUTES, ("ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute")),
    "aws_route_table": _ec2(_ROUTES, ("ec2:CreateRouteTable", "ec2:DeleteRouteTable", "ec2:CreateTags",
                                      "ec2:DeleteTags")),
    "aws_route_table_association": _ec2(_ROUTES, ("ec2:AssociateRouteTable", "ec2:DisassociateRouteTable",
                                                  "ec2:ReplaceRouteTableAssociation")),
    "aws_security_group": _ec2(("ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules"), (
        "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:AuthorizeSecurityGroupEgress",
        "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress",
        "ec2:CreateTags", "ec2:DeleteTags")),
    "aws_subnet": _ec2(("ec2:DescribeSubnets",), ("ec2:CreateSubnet", "ec2:DeleteSubnet", "ec2:ModifySubnetAttribute",
                                                  "ec2:CreateTags", "ec2:DeleteTags")),
    "aws_vpc": _ec2(("ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeNetworkAcls",
                     "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups"),
                    ("ec2:CreateVpc", "ec2:DeleteVpc", "ec2:ModifyVpcAttribute", "ec2:CreateTags", "ec2:DeleteTags")),
    "aws_vpc_endpoint": _ec2(("ec2:DescribeVpcEndpoints", "ec2:DescribePrefixLists"), (
        "ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint", "ec2:DeleteVpcEndpoints", "ec2:CreateTags",
        "ec2:DeleteTags")),
    "aws_iam_role": TypeNeeds(
        ((("iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"), "roles"),),
        ((("iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:TagRole",
           "iam:UntagRole", "iam:ListInstanceProfilesForRole"), "roles"),)),
    "aws_iam_role_policy": TypeNeeds(((("iam:GetRolePolicy",), "roles"),),
                                     ((("iam:PutRolePolicy", "iam:DeleteRolePolicy"), "roles"),)),
    "aws_kinesis_firehose_delivery_stream": TypeNeeds(
        ((("firehose:DescribeDeliveryStream", "firehose:ListTagsForDeliveryStream"), "firehose"),),
        ((("firehose:CreateDeliveryStream", "firehose:DeleteDeliveryStream", "firehose:UpdateDestination",
           "firehose:StartDeliveryStreamEncryption", "firehose:StopDeliveryStreamEncryption",
           "firehose:TagDeliveryStream", "firehose:UntagDeliveryStream"), "firehose"), _PASS_ROLE,
         (("kms:CreateGrant", "kms:DescribeKey"), "keys"))),
    "aws_kms_key": TypeNeeds(
        ((("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"), "keys"),),
        ((("kms:CreateKey",), "*"),
         (("kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion",
           "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription"), "keys"))),
    "aws_kms_alias": TypeNeeds(((("kms:ListAliases",), "*"),),
                               ((("kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"), "aliases"),)),
    "aws_lambda_function": TypeNeeds(
        ((("lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig", "lambda:ListVersionsByFunction",
           "lambda:GetRuntimeManagementConfig"), "functions"),),
        ((("lambda:CreateFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration",
           "lambda:DeleteFunction", "lambda:PublishVersion", "lambda:TagResource", "lambda:UntagResource",
           "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency"), "functions"),
         _PASS_ROLE, _CODE_READ,
         # A function in the VPC: Lambda checks its subnets and security groups as the caller.
         (("ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"), "*"),
         # Environment variables encrypted with the workspace key.
         (("kms:Encrypt", "kms:CreateGrant"), "keys"))),
    "aws_lambda_alias": TypeNeeds(((("lambda:GetAlias",), "functions"),),
                                  ((("lambda:CreateAlias", "lambda:UpdateAlias", "lambda:DeleteAlias"), "functions"),)),
    "aws_lambda_event_source_mapping": TypeNeeds(
        ((("lambda:GetEventSourceMapping",), "mappings"),),
        ((("lambda:CreateEventSourceMapping",), "*"),
         (("lambda:UpdateEventSourceMapping", "lambda:DeleteEventSourceMapping"), "mappings"))),
    "aws_lambda_function_event_invoke_config": TypeNeeds(
        ((("lambda:GetFunctionEventInvokeConfig",), "functions"),),
        ((("lambda:PutFunctionEventInvokeConfig", "lambda:UpdateFunctionEventInvokeConfig",
           "lambda:DeleteFunctionEventInvokeConfig"), "functions"),)),
    "aws_lambda_layer_version": TypeNeeds(((("lambda:GetLayerVersion",), "layers"),),
                                          ((("lambda:PublishLayerVersion", "lambda:DeleteLayerVersion"), "layers"),
                                           _CODE_READ)),
    "aws_lambda_permission": TypeNeeds(((("lambda:GetPolicy",), "functions"),),
                                       ((("lambda:AddPermission", "lambda:RemovePermission"), "functions"),)),
    "aws_s3_bucket": TypeNeeds(((_BUCKET_READS, "buckets"),),
                               ((("s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketTagging"), "buckets"),)),
    **{f"aws_s3_bucket_{part}": TypeNeeds(((reads, "buckets"),), ((writes, "buckets"),)) for part, reads, writes in (
        ("lifecycle_configuration", ("s3:GetLifecycleConfiguration",), ("s3:PutLifecycleConfiguration",)),
        ("logging", ("s3:GetBucketLogging",), ("s3:PutBucketLogging",)),
        ("ownership_controls", ("s3:GetBucketOwnershipControls",), ("s3:PutBucketOwnershipControls",)),
        ("policy", ("s3:GetBucketPolicy",), ("s3:PutBucketPolicy", "s3:DeleteBucketPolicy")),
        ("public_access_block", ("s3:GetBucketPublicAccessBlock",), ("s3:PutBucketPublicAccessBlock",)),
        ("server_side_encryption_configuration", ("s3:GetEncryptionConfiguration",),
         ("s3:PutEncryptionConfiguration",)),
        ("versioning", ("s3:GetBucketVersioning",), ("s3:PutBucketVersioning",)))},
    # The function zips: refresh reads each object's metadata and tags (HeadObject needs s3:GetObject).
    "aws_s3_object": TypeNeeds(((("s3:GetObject", "s3:GetObjectTagging"), "code_objects"),),
                               ((("s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject",
                                  "s3:DeleteObjectVersion"), "code_objects"),
                                (("kms:GenerateDataKey",), "keys"))),
    "aws_sfn_state_machine": TypeNeeds(
        ((("states:DescribeStateMachine", "states:ListTagsForResource"), "state_machines"),),
        ((("states:CreateStateMachine", "states:UpdateStateMachine", "states:DeleteStateMachine",
           "states:TagResource", "states:UntagResource"), "state_machines"), _PASS_ROLE,
         (_LOG_DELIVERY, "*"))),
    "aws_sns_topic": TypeNeeds(((("sns:GetTopicAttributes", "sns:ListTagsForResource"), "topics"),),
                               ((("sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:TagResource",
                                  "sns:UntagResource"), "topics"),)),
    "aws_sns_topic_policy": TypeNeeds(((("sns:GetTopicAttributes",), "topics"),),
                                      ((("sns:SetTopicAttributes",), "topics"),)),
    "aws_sns_topic_subscription": TypeNeeds(((("sns:GetSubscriptionAttributes",), "*"),),
                                            ((("sns:Subscribe",), "topics"),
                                             (("sns:Unsubscribe", "sns:SetSubscriptionAttributes"), "*"))),
    "aws_sqs_queue": TypeNeeds(((("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags"), "queues"),),
                               ((("sqs:CreateQueue", "sqs:DeleteQueue", "sqs:SetQueueAttributes", "sqs:TagQueue",
                                  "sqs:UntagQueue"), "queues"),)),
    "aws_sqs_queue_policy": TypeNeeds(((("sqs:GetQueueAttributes",), "queues"),),
                                      ((("sqs:SetQueueAttributes",), "queues"),)),
    "aws_wafv2_web_acl": TypeNeeds(
        ((("wafv2:GetWebACL", "wafv2:ListTagsForResource"), "web_acls"),),
        ((("wafv2:CreateWebACL", "wafv2:UpdateWebACL", "wafv2:DeleteWebACL", "wafv2:TagResource",
           "wafv2:UntagResource"), "web_acls"),)),
    "aws_wafv2_web_acl_association": TypeNeeds(
        ((("wafv2:GetWebACLForResource",), "web_acls"), (("wafv2:GetWebACLForResource",), "apigateway")),
        ((("wafv2:AssociateWebACL", "wafv2:DisassociateWebACL"), "web_acls"),
         (("wafv2:AssociateWebACL", "wafv2:DisassociateWebACL", "apigateway:SetWebACL"), "apigateway"))),
    "aws_wafv2_web_acl_logging_configuration": TypeNeeds(
        ((("wafv2:GetLoggingConfiguration",), "web_acls"),),
        ((("wafv2:PutLoggingConfiguration", "wafv2:DeleteLoggingConfiguration"), "web_acls"),
         # WAF's documented permissions for logging to CloudWatch Logs.
         (("logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:PutResourcePolicy",
           "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"), "*"))),
    # Data sources: read on every plan, by both roles.
    "aws_iam_roles": TypeNeeds(((("iam:ListRoles",), "*"),)),
    "aws_caller_identity": TypeNeeds(()),  # sts:GetCallerIdentity needs no permission
    "aws_partition": TypeNeeds(()),  # answered by the provider itself
    # The zones subnets are placed in: DescribeAvailabilityZones has no resource-level permissions.
    "aws_availability_zones": TypeNeeds(((("ec2:DescribeAvailabilityZones",), "*"),)),
    "terraform_remote_state": TypeNeeds(()),  # state reads: the state statements
}

# Calls `python -m delivery.rollout` makes with the deploy role after the apply (aws_codedeploy_*).
ROLLOUT_NEEDS: tuple[Need, ...] = (
    (("codedeploy:CreateDeployment", "codedeploy:GetDeployment", "codedeploy:ListDeployments"), "codedeploy"),
    (("codedeploy:GetDeploymentConfig",), "deployment_configs"),
    (("lambda:GetAlias",), "functions"),
    # After the deployments, the rollout prunes versions no alias or rollback needs (delete_function
    # with a qualifier, already an apply need of aws_lambda_function); it lists the aliases first.
    (("lambda:ListAliases",), "functions"),
)

# Service-linked roles a first apply in a fresh account creates, by the type that needs them:
# type -> (service principal, role name as AWS documents it).
SERVICE_LINKED_ROLES: dict[str, tuple[str, str]] = {
    "aws_appautoscaling_target": ("dynamodb.application-autoscaling.amazonaws.com",
                                  "AWSServiceRoleForApplicationAutoScaling_DynamoDBTable"),
    "aws_api_gateway_rest_api": ("ops.apigateway.amazonaws.com", "AWSServiceRoleForAPIGateway"),
}


class UndocumentedType(ValueError):
    """A workspace stack has a type this table does not cover."""


def needs_of(types: set[str], role: str) -> dict[tuple[str, str], set[str]]:
    """(action, scope) -> the types that need it, for `role` "plan" or "deploy"."""
    missing = sorted(types - TYPE_NEEDS.keys())
    if missing:
        raise UndocumentedType(f"no documented permissions for {', '.join(missing)}: add what the AWS provider "
                               "calls for them to TYPE_NEEDS in modules/ci_permissions.py")
    found: dict[tuple[str, str], set[str]] = {}
    for rtype in sorted(types):
        entry = TYPE_NEEDS[rtype]
        for actions, scope in entry.refresh + (entry.apply if role == "deploy" else ()):
            for action in actions:
                found.setdefault((action, scope), set()).add(rtype)
    if role == "deploy" and "aws_codedeploy_deployment_group" in types:
        for actions, scope in ROLLOUT_NEEDS:
            for action in actions:
                found.setdefault((action, scope), set()).add("make rollout")
    return found
