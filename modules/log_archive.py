"""Archive of a CloudWatch log group in the log bucket: subscription filter -> Kinesis
Data Firehose -> S3 with date prefixes, encrypted with the workspace key."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_subscription_filter import CloudwatchLogSubscriptionFilter
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.kinesis_firehose_delivery_stream import (
    KinesisFirehoseDeliveryStream,
    KinesisFirehoseDeliveryStreamExtendedS3Configuration,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfiguration,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessors,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorsParameters,
    KinesisFirehoseDeliveryStreamServerSideEncryption,
)
from constructs import Construct

from modules.config import WorkspaceSettings
from modules.iam import allow, assume_role_policy, policy_document


def _one_json_line_per_event() -> KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfiguration:
    """CloudWatch Logs sends Firehose gzip-compressed envelopes (`{"messageType":
    "DATA_MESSAGE", "logEvents": [...]}`); written as they come (and gzipped again by the
    stream) no query tool reads them. Firehose decompresses them, keeps each event's message
    (one access-log JSON object) and ends each with a newline, so every archived object is
    gzipped JSON Lines, which Athena and `zcat | jq` read (Amazon Data Firehose developer
    guide, "Decompress CloudWatch Logs" and "Message extraction"; the Processor API reference
    for AppendDelimiterToRecord)."""
    processor = KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessors
    parameter = KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorsParameters
    return KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfiguration(enabled=True, processors=[
        processor(type="Decompression", parameters=[parameter(parameter_name="CompressionFormat",
                                                              parameter_value="GZIP")]),
        processor(type="CloudWatchLogProcessing", parameters=[parameter(parameter_name="DataMessageExtraction",
                                                                        parameter_value="true")]),
        processor(type="AppendDelimiterToRecord"),
    ])


class LogArchive(Construct):
    """Delivers every event of `log_group_name` to `s3://<log bucket>/<prefix>/YYYY/MM/DD/`."""

    def __init__(self, scope: Construct, id_: str, *, settings: WorkspaceSettings, kms_key_arn: str,
                 log_group_name: str, log_bucket_arn: str, prefix: str) -> None:
        super().__init__(scope, id_)
        name = settings.name(f"{prefix}-archive")
        account = DataAwsCallerIdentity(self, "caller").account_id
        partition = DataAwsPartition(self, "partition").partition
        data_prefix, error_prefix = f"{prefix}/", f"{prefix}-errors/"
        # Firehose's documented guard for S3 delivery roles is sts:ExternalId = this account.
        firehose_role = IamRole(self, "firehose_role", name=f"{name}-firehose",
                                assume_role_policy=assume_role_policy("firehose.amazonaws.com",
                                                                     external_id=account))
        # Firehose writes delivered records under the data prefix and records it could not
        # deliver under the error prefix: both, and nothing else in the bucket.
        firehose_policy = IamRolePolicy(self, "firehose_policy", role=firehose_role.id, name="deliver-to-s3",
                                        policy=policy_document(
            allow(["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:ListBucket",
                   "s3:ListBucketMultipartUploads"], [log_bucket_arn], sid="Bucket"),
            allow(["s3:PutObject", "s3:GetObject"],
                  [f"{log_bucket_arn}/{data_prefix}*", f"{log_bucket_arn}/{error_prefix}*"], sid="Objects"),
            allow(["kms:Decrypt", "kms:GenerateDataKey"], [kms_key_arn], sid="EncryptArchive"),
        ))
        self.stream = KinesisFirehoseDeliveryStream(
            self, "stream", name=name, destination="extended_s3",
            server_side_encryption=KinesisFirehoseDeliveryStreamServerSideEncryption(
                enabled=True, key_type="CUSTOMER_MANAGED_CMK", key_arn=kms_key_arn),
            extended_s3_configuration=KinesisFirehoseDeliveryStreamExtendedS3Configuration(
                role_arn=firehose_role.arn, bucket_arn=log_bucket_arn, kms_key_arn=kms_key_arn,
                prefix=f"{data_prefix}!{{timestamp:yyyy/MM/dd}}/",
                error_output_prefix=f"{error_prefix}!{{firehose:error-output-type}}/!{{timestamp:yyyy/MM/dd}}/",
                buffering_interval=300, buffering_size=5, compression_format="GZIP",
                processing_configuration=_one_json_line_per_event()),
            depends_on=[firehose_policy],
        )
        # CloudWatch Logs documents aws:SourceArn for subscription roles: any log group of
        # this account and region may deliver (the filter itself pins the one group).
        logs_role = IamRole(self, "logs_role", name=f"{name}-logs",
                            assume_role_policy=assume_role_policy(
                                f"logs.{settings.region}.amazonaws.com", source_account=account,
                                source_arn=f"arn:{partition}:logs:{settings.region}:{account}:*"))
        logs_policy = IamRolePolicy(self, "logs_policy", role=logs_role.id, name="put-records", policy=policy_document(
            allow(["firehose:PutRecord", "firehose:PutRecordBatch"], [self.stream.arn], sid="Deliver")))
        CloudwatchLogSubscriptionFilter(self, "subscription", name=f"{name}-filter", log_group_name=log_group_name,
                                        filter_pattern="", destination_arn=self.stream.arn, role_arn=logs_role.arn,
                                        depends_on=[logs_policy])
