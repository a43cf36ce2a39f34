"""Bootstrap: the Terraform state bucket, once per account and region (local backend)."""

from __future__ import annotations

from cdktf import TerraformOutput, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from modules.base_stack import LayerStack
from modules.config import WorkspaceSettings
from modules.iam import policy_document
from modules.secure_bucket import SecureBucket, SecureBucketOptions

BOOTSTRAP_STACK = "bootstrap"


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
    bucket, so using one of them here would be circular.
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
        KmsAlias(self, "state_key_alias", name=f"alias/{settings.project}-tfstate", target_key_id=key.key_id)
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
            # No deny on uploads without an SSE-KMS header: the S3 backend's `encrypt`
            # sends its own header; the bucket's default KMS encryption covers the rest.
            tls_only=settings.s3_guard_policies,
            prevent_destroy=settings.emulator_endpoint is None,
            # In the emulator the state bucket is throw-away: `make down` must be able to empty it.
            force_destroy=settings.emulator_endpoint is not None,
        ))
        state.send_access_logs_to(access_log, "state/")
        TerraformOutput(self, "state_bucket_name", value=state.bucket.bucket)
        TerraformOutput(self, "state_kms_key_arn", value=key.arn)
