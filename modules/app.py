"""App layer (stateless): artifacts in the code bucket, the dependencies layer, the
functions, the job workflow, the daily schedule and the table-stream consumer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cdktf import AssetType, TerraformAsset, TerraformOutput
from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import (
    CloudwatchEventTarget,
    CloudwatchEventTargetDeadLetterConfig,
    CloudwatchEventTargetRetryPolicy,
)
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.lambda_event_source_mapping import (
    LambdaEventSourceMapping,
    LambdaEventSourceMappingDestinationConfig,
    LambdaEventSourceMappingDestinationConfigOnFailure,
)
from cdktf_cdktf_provider_aws.lambda_layer_version import LambdaLayerVersion
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.s3_object import S3Object
from constructs import Construct

from modules.api_common import ApiInputs
from modules.api_http import HttpApi
from modules.api_rest import RestApi
from modules.base_stack import LayerStack
from modules.catalog import FUNCTIONS, FunctionSpec
from modules.config import WorkspaceSettings
from modules.data import SCHEDULE_RULE_SUFFIX, DataLayer
from modules.function import CodeLocation, Function, FunctionOptions
from modules.iam import allow
from modules.network import NetworkLayer
from modules.packaging import ROOT, Artifact, build_function, build_layer
from modules.permissions import EVENTS_TOPIC, IDEMPOTENCY_TABLE, STATE_MACHINE, TABLE, handler_statements
from modules.workflow import Workflow, WorkflowInputs, state_machine_arn

BUILD_DIR = ROOT / "build"
WORKFLOW_TASKS = ("validate", "process", "notify", "mark-failed")


def schedule_rule_name(settings: WorkspaceSettings) -> str:
    """Deterministic, so the data layer's schedule DLQ policy can name the rule."""
    return settings.name(SCHEDULE_RULE_SUFFIX)


@dataclass(frozen=True)
class AppInputs:
    settings: WorkspaceSettings
    kms_key_arn: str
    data: DataLayer
    network: NetworkLayer | None
    build_dir: Path = BUILD_DIR


class AppLayer(Construct):
    """Everything that runs code; replaceable without touching data."""

    def __init__(self, scope: Construct, id_: str, inputs: AppInputs) -> None:
        super().__init__(scope, id_)
        self._inputs = inputs
        settings = inputs.settings
        self._account_id = DataAwsCallerIdentity(self, "caller").account_id
        self._partition = DataAwsPartition(self, "partition").partition
        self.artifacts = {spec.name: build_function(spec, inputs.build_dir) for spec in FUNCTIONS}
        self.layer_artifact = build_layer(settings.app.lambda_architecture, settings.app.lambda_runtime,
                                          inputs.build_dir)
        self.layer = self._build_layer()
        self._handler_resources = self._resource_arns()
        self.functions = {spec.name: self._build_function(spec) for spec in FUNCTIONS}
        self.workflow = Workflow(self, "workflow", WorkflowInputs(
            settings=settings, kms_key_arn=inputs.kms_key_arn,
            task_alias_arns={name: self.functions[name].alias.arn for name in WORKFLOW_TASKS}))
        self._build_schedule()
        self._build_stream_mapping()
        api_inputs = ApiInputs(settings, inputs.kms_key_arn, self.functions["api"],
                               inputs.data.log_bucket.bucket.arn)
        self.api: RestApi | HttpApi = (RestApi(self, "gateway", api_inputs) if settings.api.kind == "rest"
                                       else HttpApi(self, "gateway", api_inputs))

    def _upload(self, id_: str, artifact: Artifact) -> S3Object:
        asset = TerraformAsset(self, f"{id_}_asset", path=str(artifact.path), type=AssetType.FILE)
        return S3Object(
            self, f"{id_}_object", bucket=self._inputs.data.code_bucket.bucket.bucket, key=artifact.key,
            source=asset.path, source_hash=artifact.sha256_hex,
            server_side_encryption="aws:kms", kms_key_id=self._inputs.kms_key_arn,
            content_type="application/zip")

    def _build_layer(self) -> LambdaLayerVersion:
        app = self._inputs.settings.app
        uploaded = self._upload("layer", self.layer_artifact)
        return LambdaLayerVersion(
            self, "dependencies_layer", layer_name=self._inputs.settings.name("dependencies"),
            s3_bucket=uploaded.bucket, s3_key=uploaded.key, s3_object_version=uploaded.version_id,
            source_code_hash=self.layer_artifact.sha256_b64,
            compatible_runtimes=[app.lambda_runtime], compatible_architectures=[app.lambda_architecture])

    def _resource_arns(self) -> dict[str, list[str]]:
        data = self._inputs.data
        return {
            TABLE: [data.table.arn, f"{data.table.arn}/index/*"],
            IDEMPOTENCY_TABLE: [data.idempotency_table.arn],
            STATE_MACHINE: [self._state_machine_arn()],
            EVENTS_TOPIC: [data.events_topic.arn],
        }

    def _state_machine_arn(self) -> str:
        return state_machine_arn(self._inputs.settings, self._account_id, self._partition)

    def _environment(self, spec: FunctionSpec) -> dict[str, str]:
        data, settings = self._inputs.data, self._inputs.settings
        values = {
            "TABLE_NAME": data.table.name,
            "IDEMPOTENCY_TABLE_NAME": data.idempotency_table.name,
            "STATE_MACHINE_ARN": self._state_machine_arn(),
            "ALLOWED_ORIGINS": ",".join(settings.app.allowed_origins),
            "EVENTS_TOPIC_ARN": data.events_topic.arn,
        }
        return {name: values[name] for name in spec.environment}

    def _build_function(self, spec: FunctionSpec) -> Function:
        inputs, settings = self._inputs, self._inputs.settings
        artifact = self.artifacts[spec.name]
        uploaded = self._upload(f"{spec.name.replace('-', '_')}_code", artifact)
        extra = []
        if spec.name == "stream-consumer":
            # Poll-based event source mapping reads the stream with the function's role.
            extra.append(allow(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                                "dynamodb:ListStreams"], [inputs.data.table.stream_arn],
                               sid="RuntimeStreamRead"))
        network = inputs.network
        return Function(self, spec.name.replace("-", "_"), FunctionOptions(
            settings=settings, name=spec.name, handler=spec.handler,
            code=CodeLocation(bucket=uploaded.bucket, key=uploaded.key, object_version=uploaded.version_id,
                              sha256_b64=artifact.sha256_b64),
            sizing=settings.app.sizing(spec.name),
            kms_key_arn=inputs.kms_key_arn,
            dead_letter_queue_arn=inputs.data.dead_letter_queues[spec.name].arn,
            layer_arns=[self.layer.arn],
            environment=self._environment(spec),
            handler_statements=handler_statements(spec.name, self._handler_resources),
            subnet_ids=[s.id for s in network.private_subnets] if network else None,
            security_group_ids=[network.lambda_security_group.id] if network else None,
            asynchronous=spec.name == "digest",
            extra_statements=extra,
        ))

    def _build_schedule(self) -> None:
        settings, digest = self._inputs.settings, self.functions["digest"]
        rule = CloudwatchEventRule(self, "digest_schedule", name=schedule_rule_name(settings),
                                   description="Daily digest of created items",
                                   schedule_expression=settings.app.schedule_expression)
        CloudwatchEventTarget(
            self, "digest_target", rule=rule.name, arn=digest.alias.arn, target_id="digest",
            retry_policy=CloudwatchEventTargetRetryPolicy(maximum_event_age_in_seconds=3600,
                                                          maximum_retry_attempts=3),
            dead_letter_config=CloudwatchEventTargetDeadLetterConfig(
                arn=self._inputs.data.dead_letter_queues["schedule"].arn))
        LambdaPermission(self, "digest_invoke_permission", statement_id="AllowDigestSchedule",
                         action="lambda:InvokeFunction", principal="events.amazonaws.com",
                         function_name=digest.function.function_name, qualifier=digest.alias.name,
                         source_arn=rule.arn)

    def _build_stream_mapping(self) -> None:
        app, consumer = self._inputs.settings.app, self.functions["stream-consumer"]
        LambdaEventSourceMapping(
            self, "stream_mapping", event_source_arn=self._inputs.data.table.stream_arn,
            function_name=consumer.alias.arn, starting_position="LATEST",
            batch_size=app.stream_batch_size,
            maximum_batching_window_in_seconds=app.stream_batching_window_seconds,
            bisect_batch_on_function_error=True, maximum_retry_attempts=app.stream_max_retries,
            maximum_record_age_in_seconds=app.stream_max_record_age_seconds,
            function_response_types=["ReportBatchItemFailures"],
            destination_config=LambdaEventSourceMappingDestinationConfig(
                on_failure=LambdaEventSourceMappingDestinationConfigOnFailure(
                    destination_arn=self._inputs.data.dead_letter_queues["stream-consumer"].arn)),
            depends_on=[consumer.policy])


class AppStack(LayerStack):
    """`<workspace>-app`."""

    def __init__(self, scope: Construct, settings: WorkspaceSettings, kms_key_arn: str, data: DataLayer,
                 network: NetworkLayer | None, build_dir: Path = BUILD_DIR) -> None:
        super().__init__(scope, settings, "app")
        self.app = AppLayer(self, "app", AppInputs(settings, kms_key_arn, data, network, build_dir))
        for name, function in self.app.functions.items():
            TerraformOutput(self, f"{name.replace('-', '_')}_function_name", value=function.function.function_name)
        TerraformOutput(self, "api_alias_arn", value=self.app.functions["api"].alias.arn)
        TerraformOutput(self, "state_machine_arn", value=self.app.workflow.state_machine.arn)
        TerraformOutput(self, "api_url", value=self.app.api.invoke_url)
        TerraformOutput(self, "api_id", value=self.app.api.api.id)
        if isinstance(self.app.api, RestApi):
            TerraformOutput(self, "api_key_id", value=self.app.api.api_key.id)
            TerraformOutput(self, "api_key_value", value=self.app.api.api_key.value, sensitive=True)
