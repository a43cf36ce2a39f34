"""Data layer: everything stateful the app layer uses, so the app layer can be replaced
without losing data: the items table, the idempotency table, the code bucket, the log
archive bucket, the events topic and the dead-letter queues."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformOutput, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.appautoscaling_policy import (
    AppautoscalingPolicy,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification,
)
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
    DynamodbTableTtl,
)
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy
from constructs import Construct

from handlers.shared.constants import ITEMS_INDEX
from modules.base_stack import LayerStack
from modules.catalog import FUNCTIONS, FunctionSpec, dlq_names, rule_queues
from modules.config import CapacitySettings, WorkspaceSettings
from modules.iam import deny_insecure_transport, policy_document
from modules.secure_bucket import SecureBucket, SecureBucketOptions


@dataclass(frozen=True)
class DataInputs:
    settings: WorkspaceSettings
    kms_key_arn: str
    functions: tuple[FunctionSpec, ...] = FUNCTIONS


@dataclass(frozen=True)
class DataOutputs:
    """What later layers read from the data layer."""

    table_name: str
    table_arn: str
    table_stream_arn: str
    idempotency_table_name: str
    idempotency_table_arn: str
    code_bucket_name: str
    log_bucket_arn: str
    # Where the stream mapping writes batches it gives up on, records included (see app.py).
    stream_failure_bucket_arn: str
    stream_failure_bucket_name: str
    events_topic_arn: str
    dead_letter_queue_arns: dict[str, str]  # queue short name (see catalog.dlq_names) -> ARN
    dead_letter_queue_names: dict[str, str]


class DataLayer(Construct):
    """Tables, buckets, topic and queues of one workspace."""

    def __init__(self, scope: Construct, id_: str, inputs: DataInputs) -> None:
        super().__init__(scope, id_)
        self._settings = inputs.settings
        self._kms_key_arn = inputs.kms_key_arn
        self._protect = inputs.settings.is_production_like
        self._account_id = DataAwsCallerIdentity(self, "caller").account_id
        # ARNs are built with the partition the stack deploys into (aws, aws-cn, aws-us-gov).
        self._partition = DataAwsPartition(self, "partition").partition
        self.table = self._build_table()
        if inputs.settings.data.billing_mode == "PROVISIONED":
            self._build_autoscaling()
        self.idempotency_table = self._build_idempotency_table()
        self.log_bucket = self._build_log_bucket()
        self.code_bucket = self._build_code_bucket()
        self.code_bucket.send_access_logs_to(self.log_bucket, "s3-access/code/")
        self.stream_failure_bucket = self._build_stream_failure_bucket()
        self.stream_failure_bucket.send_access_logs_to(self.log_bucket, "s3-access/stream-failures/")
        self.events_topic = SnsTopic(self, "events_topic", name=self._settings.name("events"),
                                     kms_master_key_id=self._kms_key_arn)
        # Undeliverable rule events (schedules, execution-end) may be sent only by that rule.
        schedule_rules = rule_queues(inputs.functions)
        self.dead_letter_queues = {name: self._build_dlq(name, schedule_rules.get(name))
                                   for name in dlq_names(inputs.functions)}
        self.outputs = DataOutputs(
            table_name=self.table.name, table_arn=self.table.arn, table_stream_arn=self.table.stream_arn,
            idempotency_table_name=self.idempotency_table.name, idempotency_table_arn=self.idempotency_table.arn,
            code_bucket_name=self.code_bucket.bucket.bucket, log_bucket_arn=self.log_bucket.bucket.arn,
            stream_failure_bucket_arn=self.stream_failure_bucket.bucket.arn,
            stream_failure_bucket_name=self.stream_failure_bucket.bucket.bucket,
            events_topic_arn=self.events_topic.arn,
            dead_letter_queue_arns={name: queue.arn for name, queue in self.dead_letter_queues.items()},
            dead_letter_queue_names={name: queue.name for name, queue in self.dead_letter_queues.items()})

    def _lifecycle(self) -> TerraformResourceLifecycle | None:
        return TerraformResourceLifecycle(prevent_destroy=True) if self._protect else None

    def _build_table(self) -> DynamodbTable:
        data = self._settings.data
        provisioned = data.billing_mode == "PROVISIONED"
        read = data.read_capacity.min_capacity if provisioned and data.read_capacity else None
        write = data.write_capacity.min_capacity if provisioned and data.write_capacity else None
        lifecycle = self._lifecycle()
        if provisioned:
            # Application Auto Scaling owns the table's and the index's capacity once they
            # exist. Terraform cannot ignore read/write capacity inside one element of the
            # `global_secondary_index` set, so the whole block is ignored: otherwise every plan
            # after a scale-out shows the index changed and apply sets it back to the minimum
            # (throttled writes, and a decrease counted against DynamoDB's daily limit). An
            # index is changed by the procedure in docs/aws-semantics.md, never by editing it here.
            lifecycle = TerraformResourceLifecycle(
                prevent_destroy=self._protect,
                ignore_changes=["read_capacity", "write_capacity", "global_secondary_index"])
        return DynamodbTable(
            self, "table",
            name=self._settings.name("items"),
            billing_mode=data.billing_mode,
            hash_key="pk", range_key="sk",
            read_capacity=read, write_capacity=write,
            attribute=[DynamodbTableAttribute(name=n, type="S") for n in ("pk", "sk", "gsi1pk", "gsi1sk")],
            global_secondary_index=[DynamodbTableGlobalSecondaryIndex(
                name=ITEMS_INDEX, hash_key="gsi1pk", range_key="gsi1sk", projection_type="ALL",
                read_capacity=read, write_capacity=write)],
            stream_enabled=True, stream_view_type="NEW_AND_OLD_IMAGES",
            ttl=DynamodbTableTtl(attribute_name="expires_at", enabled=True),
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=data.point_in_time_recovery),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=self._kms_key_arn),
            deletion_protection_enabled=data.deletion_protection,
            lifecycle=lifecycle,
        )

    def _build_autoscaling(self) -> None:
        data = self._settings.data
        table_resource = f"table/{self.table.name}"
        targets = {
            "table": table_resource,
            "gsi1": f"{table_resource}/index/{ITEMS_INDEX}",
        }
        for scope_name, resource_id in targets.items():
            dimension_prefix = "table" if scope_name == "table" else "index"
            for kind, capacity in (("read", data.read_capacity), ("write", data.write_capacity)):
                assert capacity is not None  # guaranteed by DataSettings for PROVISIONED
                self._scaling(f"{scope_name}_{kind}", resource_id, dimension_prefix, kind, capacity)

    def _scaling(self, id_: str, resource_id: str, dimension_prefix: str, kind: str,
                 capacity: CapacitySettings) -> None:
        unit = "Read" if kind == "read" else "Write"
        target = AppautoscalingTarget(
            self, f"{id_}_target", service_namespace="dynamodb", resource_id=resource_id,
            scalable_dimension=f"dynamodb:{dimension_prefix}:{unit}CapacityUnits",
            min_capacity=capacity.min_capacity, max_capacity=capacity.max_capacity,
            depends_on=[self.table],
        )
        AppautoscalingPolicy(
            self, f"{id_}_policy", name=self._settings.name(f"{id_.replace('_', '-')}-scaling"),
            policy_type="TargetTrackingScaling", service_namespace=target.service_namespace,
            resource_id=target.resource_id, scalable_dimension=target.scalable_dimension,
            target_tracking_scaling_policy_configuration=AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                target_value=capacity.target_utilization,
                predefined_metric_specification=(
                    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                        predefined_metric_type=f"DynamoDB{unit}CapacityUtilization"))),
        )

    def _build_idempotency_table(self) -> DynamodbTable:
        return DynamodbTable(
            self, "idempotency_table",
            name=self._settings.name("idempotency"),
            billing_mode="PAY_PER_REQUEST",
            hash_key="id",
            attribute=[DynamodbTableAttribute(name="id", type="S")],
            ttl=DynamodbTableTtl(attribute_name="expiration", enabled=True),
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=self._kms_key_arn),
            deletion_protection_enabled=self._settings.data.deletion_protection,
            # In-flight idempotency records: losing them lets a retried POST run twice.
            lifecycle=self._lifecycle(),
        )

    def _build_log_bucket(self) -> SecureBucket:
        # S3 server access logging cannot deliver into an SSE-KMS bucket, so this bucket
        # uses SSE-S3; everything else about it is as locked down as the others.
        return SecureBucket(self, "log_bucket", SecureBucketOptions(
            bucket_name=self._settings.name(f"logs-{self._account_id}"),
            kms_key_arn=None,
            noncurrent_version_days=30,
            expiration_days=self._settings.data.log_archive_expiry_days,
            log_delivery_sources=(f"arn:{self._partition}:s3:::{self._code_bucket_name()}",
                                  f"arn:{self._partition}:s3:::{self._stream_failure_bucket_name()}"),
            account_id=self._account_id,
            tls_only=self._settings.s3_guard_policies,
            prevent_destroy=self._protect,
            force_destroy=not self._protect,
        ))

    def _code_bucket_name(self) -> str:
        return self._settings.name(f"code-{self._account_id}")

    def _build_code_bucket(self) -> SecureBucket:
        return SecureBucket(self, "code_bucket", SecureBucketOptions(
            bucket_name=self._code_bucket_name(),
            kms_key_arn=self._kms_key_arn,
            noncurrent_version_days=self._settings.data.code_noncurrent_version_days,
            require_encrypted_uploads=True,
            tls_only=self._settings.s3_guard_policies,
            prevent_destroy=self._protect,
            force_destroy=not self._protect,
        ))

    def _stream_failure_bucket_name(self) -> str:
        return self._settings.name(f"stream-failures-{self._account_id}")

    def _build_stream_failure_bucket(self) -> SecureBucket:
        """Failed stream batches in full (Lambda's S3 on-failure destination writes the
        invocation record with the records): kept until `python -m handlers.stream.redrive`
        replays and deletes them, so no expiry."""
        return SecureBucket(self, "stream_failure_bucket", SecureBucketOptions(
            bucket_name=self._stream_failure_bucket_name(),
            kms_key_arn=self._kms_key_arn,
            noncurrent_version_days=30,
            require_encrypted_uploads=True,
            tls_only=self._settings.s3_guard_policies,
            prevent_destroy=self._protect,
            force_destroy=not self._protect,
        ))

    def _build_dlq(self, name: str, schedule_rule: str | None) -> SqsQueue:
        queue = SqsQueue(self, f"dlq_{name.replace('-', '_')}", name=self._settings.name(f"{name}-dlq"),
                         kms_master_key_id=self._kms_key_arn, kms_data_key_reuse_period_seconds=300,
                         message_retention_seconds=self._settings.data.dlq_retention_seconds,
                         # A dead-letter queue holds the only copy of failed events.
                         lifecycle=self._lifecycle())
        statements = [deny_insecure_transport([queue.arn], service="sqs")]
        if schedule_rule is not None:
            # EventBridge delivers undeliverable schedule events here, only from that schedule's rule.
            rule_arn = (f"arn:{self._partition}:events:{self._settings.region}:{self._account_id}:rule/"
                        f"{self._settings.name(schedule_rule)}")
            statements.append({
                "Sid": "ScheduleDeadLetters", "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                "Resource": queue.arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            })
        SqsQueuePolicy(self, f"dlq_{name.replace('-', '_')}_policy", queue_url=queue.url,
                       policy=policy_document(*statements))
        return queue


class DataStack(LayerStack):
    """`<workspace>-data`."""

    def __init__(self, scope: Construct, settings: WorkspaceSettings, kms_key_arn: str,
                 functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> None:
        super().__init__(scope, settings, "data")
        data = DataLayer(self, "data", DataInputs(settings, kms_key_arn, functions))
        self.outputs = data.outputs
        TerraformOutput(self, "table_name", description="DynamoDB items table (pk/sk, GSI1, stream)",
                        value=self.outputs.table_name)
        TerraformOutput(self, "table_stream_arn",
                        description="Stream of the items table (NEW_AND_OLD_IMAGES) read by the stream consumer",
                        value=self.outputs.table_stream_arn)
        TerraformOutput(self, "idempotency_table_name",
                        description="DynamoDB table of the POST endpoints' idempotency records",
                        value=self.outputs.idempotency_table_name)
        TerraformOutput(self, "code_bucket_name",
                        description="Versioned S3 bucket holding the function zips and the dependencies layer",
                        value=self.outputs.code_bucket_name)
        TerraformOutput(self, "log_bucket_name", description="S3 bucket archiving the API access logs",
                        value=data.log_bucket.bucket.bucket)
        TerraformOutput(self, "stream_failure_bucket_name",
                        description="S3 bucket receiving stream records the consumer gave up on (redrive from here)",
                        value=self.outputs.stream_failure_bucket_name)
        TerraformOutput(self, "events_topic_arn", description="SNS topic the stream consumer publishes item events to",
                        value=self.outputs.events_topic_arn)
