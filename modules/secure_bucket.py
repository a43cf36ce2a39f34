"""One construct for every S3 bucket of the project, so protections are written once:
versioning, default encryption, public access block, BucketOwnerEnforced, a TLS-only
policy, lifecycle rules and (optionally) server access logging."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


def deny_uploads_not_sse_kms(objects_arn: str, kms_key_ids: tuple[str, ...]) -> list[Statement]:
    """Uploads may not ask for anything but SSE-KMS with the bucket's own key.

    `kms_key_ids` are the identifiers of that one key an upload may name in
    `x-amz-server-side-encryption-aws-kms-key-id` (PutObject accepts a key ID, key ARN or
    alias; "PutObject", Amazon S3 API Reference).

    An upload without an encryption header is not denied: the bucket's default encryption
    (SSE-KMS with this key) encrypts it, so no object is ever stored unencrypted. Denying a
    missing header would also deny every UploadPart of a multipart upload (those requests
    carry no encryption header and are authorised as s3:PutObject; Terraform's S3 backend
    uploads through the SDK's multipart upload manager), which breaks large uploads. Hence
    the first two statements apply only when their header is present (`Null: false`), and
    are separate because conditions in one statement are ANDed. The third closes the one
    gap that leaves: `aws:kms` without a key id means the AWS managed key `aws/s3`, not
    the bucket's key ("If you specify x-amz-server-side-encryption:aws:kms, but do not
    provide x-amz-server-side-encryption-aws-kms-key-id, Amazon S3 uses the AWS managed
    key (aws/s3)", PutObject).
    """
    algorithm, key = "s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id"
    base = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:PutObject", "Resource": objects_arn}
    accepted: str | list[str] = kms_key_ids[0] if len(kms_key_ids) == 1 else list(kms_key_ids)
    return [
        {"Sid": "DenyUploadsNotSseKms", **base,
         "Condition": {"Null": {algorithm: "false"}, "StringNotEquals": {algorithm: "aws:kms"}}},
        {"Sid": "DenyUploadsWithAnotherKey", **base,
         "Condition": {"Null": {key: "false"}, "StringNotEquals": {key: accepted}}},
        {"Sid": "DenyUploadsWithTheAwsManagedKey", **base,
         "Condition": {"StringEquals": {algorithm: "aws:kms"}, "Null": {key: "true"}}},
    ]


@dataclass(frozen=True)
class SecureBucketOptions:
    """Inputs of a SecureBucket. `kms_key_arn=None` means SSE-S3 (see the log bucket)."""

    bucket_name: str
    kms_key_arn: str | None
    noncurrent_version_days: int = 30
    expiration_days: int | None = None
    require_encrypted_uploads: bool = False
    # Other identifiers of `kms_key_arn` uploads may name (alias name, alias ARN).
    accepted_kms_key_ids: tuple[str, ...] = ()
    log_delivery_sources: tuple[str, ...] = ()  # bucket ARNs whose access logs land here
    account_id: str | None = None
    tls_only: bool = True  # False also drops the encrypted-uploads guard: see config.LOCAL_DIFFERENCES
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
        self.policy = self._build_policy(options)
        self._build_lifecycle(options)

    def send_access_logs_to(self, target: SecureBucket, prefix: str) -> None:
        """Server access logging into `target`, whose policy must list this bucket in
        `log_delivery_sources` (S3 checks the grant when logging is switched on)."""
        S3BucketLoggingA(self, "logging", bucket=self.bucket.id, target_bucket=target.bucket.id,
                         target_prefix=prefix, depends_on=[target.policy] if target.policy else None)

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

    def _build_policy(self, options: SecureBucketOptions) -> S3BucketPolicy | None:
        arn = self.bucket.arn
        statements: list[Statement] = [deny_insecure_transport([arn, f"{arn}/*"])] if options.tls_only else []
        if options.require_encrypted_uploads and options.tls_only and options.kms_key_arn:
            statements.extend(deny_uploads_not_sse_kms(
                f"{arn}/*", (options.kms_key_arn, *options.accepted_kms_key_ids)))
        if options.log_delivery_sources:
            # With ACLs disabled (BucketOwnerEnforced), S3 log delivery is granted by policy.
            condition: dict[str, Any] = {"ArnLike": {"aws:SourceArn": list(options.log_delivery_sources)}}
            if options.account_id:
                condition["StringEquals"] = {"aws:SourceAccount": options.account_id}
            statements.append({
                "Sid": "S3ServerAccessLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{arn}/*",
                "Condition": condition,
            })
        statements.extend(options.extra_policy_statements)
        if not statements:
            return None
        return S3BucketPolicy(self, "policy", bucket=self.bucket.id, policy=policy_document(*statements))

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
