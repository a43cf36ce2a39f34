"""Security layer: the workspace's customer-managed KMS key and its alias."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformOutput, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from modules.base_stack import LayerStack
from modules.config import WorkspaceSettings
from modules.iam import policy_document

# Services that encrypt with the key on the project's behalf (alert topic, DLQs, alarms
# publishing to the encrypted topic), bound to this account by aws:SourceAccount.
KEY_USER_SERVICES = ("sns.amazonaws.com", "sqs.amazonaws.com", "cloudwatch.amazonaws.com")
# EventBridge delivering undeliverable rule events to the encrypted dead-letter queues. Its
# KMS requests through SQS carry neither aws:SourceAccount nor aws:SourceArn (Amazon SNS
# developer guide, "Key management": adding them to a KMS key policy "is not supported for
# EventBridge-to-encrypted topics"; the SQS guide, "Configure KMS permissions for AWS
# services", grants events.amazonaws.com without a condition), so a statement conditioned on
# them never matches and the DLQs stay empty. Which rule may send is decided by each queue's
# policy (aws:SourceArn of that rule, modules/data.py).
DEAD_LETTER_SENDERS = ("events.amazonaws.com",)


@dataclass(frozen=True)
class SecurityOutputs:
    """What later layers read from the security layer."""

    kms_key_arn: str


def key_policy(account_id: str, partition: str, region: str) -> str:
    """Key policy: account administration, CloudWatch Logs bound to this account's log
    groups through the encryption context, and the key-user services of this account."""
    root = f"arn:{partition}:iam::{account_id}:root"
    return policy_document(
        {
            "Sid": "AccountAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchLogsOfThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*",
                       "kms:ReEncrypt*"],
            "Resource": "*",
            "Condition": {"ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account_id}:*"}},
        },
        {
            "Sid": "ServicesOfThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": list(KEY_USER_SERVICES)},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
        {
            "Sid": "EventBridgeDeadLetterQueues",
            "Effect": "Allow",
            "Principal": {"Service": list(DEAD_LETTER_SENDERS)},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
        },
    )


class SecurityLayer(Construct):
    """Customer-managed key with rotation, a per-workspace deletion window and an alias."""

    def __init__(self, scope: Construct, id_: str, settings: WorkspaceSettings) -> None:
        super().__init__(scope, id_)
        identity = DataAwsCallerIdentity(self, "caller")
        partition = DataAwsPartition(self, "partition")
        self.key = KmsKey(
            self, "key",
            description=f"{settings.name('main')}: logs, table, queues, topics, buckets, Lambda environment",
            enable_key_rotation=True,
            deletion_window_in_days=settings.kms_deletion_window_days,
            policy=key_policy(identity.account_id, partition.partition, settings.region),
            # Everything the data layer protects is encrypted with this key: destroying it
            # (a scheduled deletion) would make the protected table, buckets and queues
            # unreadable, so it is protected wherever they are.
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if settings.is_production_like else None,
        )
        KmsAlias(self, "alias", name=f"alias/{settings.name('main')}", target_key_id=self.key.key_id)
        self.outputs = SecurityOutputs(kms_key_arn=self.key.arn)


class SecurityStack(LayerStack):
    """`<workspace>-security`."""

    def __init__(self, scope: Construct, settings: WorkspaceSettings) -> None:
        super().__init__(scope, settings, "security")
        self.outputs = SecurityLayer(self, "security", settings).outputs
        TerraformOutput(self, "kms_key_arn", description="The workspace's customer-managed KMS key",
                        value=self.outputs.kms_key_arn)
        TerraformOutput(self, "kms_alias_name", description="Alias of the workspace's KMS key",
                        value=f"alias/{settings.name('main')}")
