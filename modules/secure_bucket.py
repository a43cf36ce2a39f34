"""One construct for every S3 bucket of the project, so protections are written once:
versioning, default encryption, public access block, BucketOwnerEnforced, a TLS-only
policy, lifecycle rules and (optionally) server access logging."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from modules.iam import Statement, deny_insecure_transport, policy_document


@dataclass(frozen=True)
class SecureBucketOptions:
    """Inputs of a SecureBucket. `kms_key_arn=None` means SSE-S3 (see the log bucket)."""

    bucket_name: str
    kms_key_arn: str | None
    noncurrent_version_days: int = 30
    expiration_days: int | None = None
    access_log_bucket: str | None = None
    access_log_prefix: str = ""
    require_encrypted_uploads: bool = False
    prevent_destroy: bool = False
    force_destroy: bool = False
    extra_policy_statements: tuple[Statement, ...] = field(default_factory=tuple)


class SecureBucket(Construct):
    """A private, encrypted, versioned bucket with a TLS-only policy."""

    def __init__(self, scope: Construct, id_: str, options: SecureBucketOptions) -> None:
        super().__init__(scope, id_)
        self.bucket = S3Bucket(
            self, "bucket",
            bucket=options.bucket_name,
            force_destroy=options.force_destroy,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if options.prevent_destroy else None,
        )
        S3BucketVersioningA(self, "versioning", bucket=self.bucket.id,
                            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"))
        self._build_encryption(options)
        S3BucketPublicAccessBlock(self, "public_access_block", bucket=self.bucket.id, block_public_acls=True,
                                  block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True)
        S3BucketOwnershipControls(self, "ownership", bucket=self.bucket.id,
                                  rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"))
        self._build_policy(options)
        self._build_lifecycle(options)
        if options.access_log_bucket:
            S3BucketLoggingA(self, "logging", bucket=self.bucket.id, target_bucket=options.access_log_bucket,
                             target_prefix=options.access_log_prefix)

    def _build_encryption(self, options: SecureBucketOptions) -> None:
        if options.kms_key_arn:
            default = S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="aws:kms", kms_master_key_id=options.kms_key_arn)
        else:
            default = S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="AES256")
        S3BucketServerSideEncryptionConfigurationA(
            self, "encryption", bucket=self.bucket.id,
            rule=[S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=default,
                bucket_key_enabled=bool(options.kms_key_arn))],
        )

    def _build_policy(self, options: SecureBucketOptions) -> None:
        arn = self.bucket.arn
        statements: list[Statement] = [deny_insecure_transport([arn, f"{arn}/*"])]
        if options.require_encrypted_uploads:
            statements.append({
                "Sid": "DenyUnencryptedUploads",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"{arn}/*",
                "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
            })
        statements.extend(options.extra_policy_statements)
        S3BucketPolicy(self, "policy", bucket=self.bucket.id, policy=policy_document(*statements))

    def _build_lifecycle(self, options: SecureBucketOptions) -> None:
        rule = S3BucketLifecycleConfigurationRule(
            id="retention",
            status="Enabled",
            filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
            noncurrent_version_expiration=[S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                noncurrent_days=options.noncurrent_version_days)],
            abort_incomplete_multipart_upload=[
                S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)],
            expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=options.expiration_days)]
            if options.expiration_days else None,
        )
        S3BucketLifecycleConfiguration(self, "lifecycle", bucket=self.bucket.id, rule=[rule])
