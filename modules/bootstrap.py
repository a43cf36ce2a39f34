"""Bootstrap: what exists once per account and region, before any workspace (local backend):
the Terraform state bucket and its key, and API Gateway's account-level CloudWatch role."""

from __future__ import annotations

from cdktf import TerraformOutput, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from modules.base_stack import LayerStack, state_kms_alias
from modules.config import WorkspaceSettings
from modules.iam import allow, assume_role_policy, policy_document
from modules.secure_bucket import SecureBucket, SecureBucketOptions

BOOTSTRAP_STACK = "bootstrap"
# What API Gateway's CloudWatch role needs: the actions of the managed policy AWS documents
# for it, AmazonAPIGatewayPushToCloudWatchLogs ("Set up CloudWatch logging for REST APIs in
# API Gateway"; policy v1: these seven actions on "*"). Inline and scoped to this account's
# and region's log groups instead: least privilege, and the emulator (which has no AWS
# managed policies loaded) can host it.
API_GATEWAY_LOGGING_ACTIONS = (
    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams",
    "logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents",
)


def account_logging_role_name(settings: WorkspaceSettings) -> str:
    """API Gateway's CloudWatch role. IAM names are global to the account while the API
    Gateway setting is per region, so the region is part of the name (<= 64 characters:
    project <= 24, region <= 14)."""
    return f"{settings.project}-apigw-cloudwatch-{settings.region}"


def key_policy_for_account(account_id: str, partition: str) -> str:
    """The state key is used only by principals of this account (through IAM)."""
    return policy_document({
        "Sid": "AccountAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
        "Action": "kms:*",
        "Resource": "*",
    })


class BootstrapStack(LayerStack):
    """The state bucket every other stack keeps its state in.

    It has its own KMS key: the workspace keys live in stacks whose state is in this
    bucket, so using one of them here would be circular. Every remote backend names the
    key by its alias (`state_kms_alias`), and the bucket refuses uploads that ask for
    any other encryption.

    It also sets API Gateway's CloudWatch role, an account-and-region setting every REST
    stage that logs needs before it is created (`RestApi` checks that it is there).
    """

    def __init__(self, scope: Construct, settings: WorkspaceSettings) -> None:
        super().__init__(scope, settings, "bootstrap", remote_state=False, stack_id=BOOTSTRAP_STACK)
        identity = DataAwsCallerIdentity(self, "caller")
        partition = DataAwsPartition(self, "partition")
        key = KmsKey(
            self, "state_key",
            description=f"{settings.project}: Terraform state",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy_for_account(identity.account_id, partition.partition),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=settings.emulator_endpoint is None),
        )
        alias_name = state_kms_alias(settings)
        KmsAlias(self, "state_key_alias", name=alias_name, target_key_id=key.key_id)
        alias_arn = f"arn:{partition.partition}:kms:{settings.region}:{identity.account_id}:{alias_name}"
        # Access log of the state bucket (SSE-S3: log delivery cannot write SSE-KMS).
        access_log = SecureBucket(self, "state_access_log", SecureBucketOptions(
            bucket_name=f"{settings.state_bucket}-logs"[:63],
            kms_key_arn=None,
            expiration_days=365,
            log_delivery_sources=(f"arn:{partition.partition}:s3:::{settings.state_bucket}",),
            account_id=identity.account_id,
            tls_only=settings.s3_guard_policies,
            prevent_destroy=settings.emulator_endpoint is None,
            # In the emulator the state bucket is throw-away: `make down` must be able to empty it.
            force_destroy=settings.emulator_endpoint is not None,
        ))
        state = SecureBucket(self, "state", SecureBucketOptions(
            bucket_name=settings.state_bucket,
            kms_key_arn=key.arn,
            noncurrent_version_days=90,
            # The backends send SSE-KMS with the alias name (base_stack.state_kms_alias);
            # S3 may evaluate the key-id condition on the header as sent or on the key it
            # resolves, so the alias name, the alias ARN and the key ARN are accepted.
            require_encrypted_uploads=True,
            accepted_kms_key_ids=(alias_name, alias_arn),
            tls_only=settings.s3_guard_policies,
            prevent_destroy=settings.emulator_endpoint is None,
            # In the emulator the state bucket is throw-away: `make down` must be able to empty it.
            force_destroy=settings.emulator_endpoint is not None,
        ))
        state.send_access_logs_to(access_log, "state/")
        TerraformOutput(self, "state_bucket_name",
                        description="S3 bucket holding every workspace's Terraform state (the backends' `bucket`)",
                        value=state.bucket.bucket)
        TerraformOutput(self, "state_kms_key_arn", description="KMS key encrypting the Terraform state objects",
                        value=key.arn)
        TerraformOutput(self, "state_kms_alias", description="Alias of the state key (the backends' `kms_key_id`)",
                        value=alias_name)
        self._build_account_logging_role(settings, identity.account_id, partition.partition)

    def _build_account_logging_role(self, settings: WorkspaceSettings, account_id: str, partition: str) -> None:
        """API Gateway's CloudWatch role for this account and region ("To avoid overwriting
        other roles, you should only have one AWS::ApiGateway::Account resource per region
        per account", AWS::ApiGateway::Account). The setting is written after the role has
        its policy: API Gateway checks the role's permissions when it is set."""
        role = IamRole(self, "account_logging_role", name=account_logging_role_name(settings),
                       description="API Gateway: writes REST API access and execution logs to CloudWatch Logs",
                       assume_role_policy=assume_role_policy("apigateway.amazonaws.com"))
        policy = IamRolePolicy(self, "account_logging_policy", role=role.name, name="push-to-cloudwatch-logs",
                               policy=policy_document(allow(list(API_GATEWAY_LOGGING_ACTIONS),
                                                            [f"arn:{partition}:logs:{settings.region}:{account_id}:*"])))
        ApiGatewayAccount(self, "api_gateway_account", cloudwatch_role_arn=role.arn, depends_on=[policy])
        TerraformOutput(self, "api_gateway_logging_role_arn",
                        description="The account's API Gateway CloudWatch Logs role (one per account and region)",
                        value=role.arn)
