"""App layer (stateless): artifacts in the code bucket, the dependencies layer, the
functions, the job workflow, the daily schedule and the table-stream consumer."""

from __future__ import annotations

import json
from dataclasses import dataclass

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

from modules.api_common import ApiInputs, ApiOutputs
from modules.api_http import HttpApi
from modules.api_rest import RestApi
from modules.base_stack import LayerStack
from modules.catalog import (
    ALLOWED_ORIGINS,
    DEPLOYMENT_APPLICATION_NAME,
    DEPLOYMENT_GROUPS,
    EVENTS_TOPIC,
    EVENTS_TOPIC_ARN,
    FUNCTIONS,
    IDEMPOTENCY_TABLE,
    IDEMPOTENCY_TABLE_NAME,
    ROLLED_OUT_VERSIONS,
    SMOKE_CHECKS,
    STATE_MACHINE,
    STATE_MACHINE_ARN,
    TABLE,
    TABLE_NAME,
    ApiTrigger,
    DeploymentHookTrigger,
    ExecutionEndTrigger,
    FunctionSpec,
    RuleTrigger,
    ScheduleTrigger,
    StreamTrigger,
    WorkflowTask,
    rolled_out,
    triggered_by,
    triggers_of,
)
from modules.codedeploy import RolloutInputs, Rollouts
from modules.config import WorkspaceSettings
from modules.data import DataOutputs
from modules.function import CodeLocation, Function, FunctionOptions
from modules.iam import Statement, allow
from modules.network import NetworkOutputs
from modules.packaging import Artifact, WorkspaceArtifacts
from modules.rollout import application_name, deployment_group_name, hook_function
from modules.workflow import Workflow, WorkflowInputs, state_machine_arn

# What the event source mapping reads the table stream with (the function's own role).
STREAM_READ_ACTIONS = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                       "dynamodb:ListStreams"]
# What the mapping writes a discarded batch to its S3 on-failure destination with (the
# function's own role; the CMK's GenerateDataKey is already a runtime grant): AWS Lambda guide,
# "Retain discarded records for a DynamoDB event source in Lambda".
STREAM_FAILURE_OBJECT_ACTIONS = ["s3:PutObject"]
STREAM_FAILURE_BUCKET_ACTIONS = ["s3:ListBucket"]


@dataclass(frozen=True)
class AppInputs:
    settings: WorkspaceSettings
    kms_key_arn: str
    data: DataOutputs
    network: NetworkOutputs | None
    artifacts: WorkspaceArtifacts  # built by the packaging step before the stacks
    functions: tuple[FunctionSpec, ...] = FUNCTIONS


@dataclass(frozen=True)
class AppOutputs:
    """What observability reads from the app layer."""

    function_names: dict[str, str]  # catalog name -> Lambda function name
    state_machine_arn: str
    api: ApiOutputs


class AppLayer(Construct):
    """Everything that runs code; replaceable without touching data."""

    def __init__(self, scope: Construct, id_: str, inputs: AppInputs) -> None:
        super().__init__(scope, id_)
        self._inputs = inputs
        settings = inputs.settings
        self._account_id = DataAwsCallerIdentity(self, "caller").account_id
        self._partition = DataAwsPartition(self, "partition").partition
        self.artifacts = inputs.artifacts.functions
        self.layer_artifact = inputs.artifacts.layer
        self.layer = self._build_layer()
        self._handler_resources = self._resource_arns()
        self._environment_variables = self._environment_values()
        self.functions = {spec.name: self._build_function(spec) for spec in inputs.functions}
        self.rollouts = Rollouts(self, "rollouts", RolloutInputs(
            settings=settings, functions=self.functions, specs=inputs.functions,
            hook=self.functions[hook_function(inputs.functions).name], account_id=self._account_id,
            partition=self._partition))
        tasks = triggered_by(WorkflowTask, inputs.functions)
        self.workflow = Workflow(self, "workflow", WorkflowInputs(
            settings=settings, kms_key_arn=inputs.kms_key_arn,
            task_alias_arns={spec.name: self.functions[spec.name].alias.arn for spec in tasks},
            task_timeouts={spec.name: settings.app.sizing(spec.name, inputs.functions).timeout_seconds
                           for spec in tasks},
            table_name=inputs.data.table_name, table_arn=inputs.data.table_arn))
        for spec in triggered_by(RuleTrigger, inputs.functions):
            for trigger in triggers_of(RuleTrigger, spec):
                self._build_rule(spec, trigger)
        for spec in triggered_by(StreamTrigger, inputs.functions):
            self._build_stream_mapping(spec)
        api = self._build_api()
        self.outputs = AppOutputs(
            function_names={name: function.function_name for name, function in self.functions.items()},
            state_machine_arn=self.workflow.state_machine.arn, api=api.outputs)

    def _build_api(self) -> RestApi | HttpApi:
        [spec] = triggered_by(ApiTrigger, self._inputs.functions)  # the API has one function
        settings = self._inputs.settings
        api_inputs = ApiInputs(settings, self._inputs.kms_key_arn, self.functions[spec.name],
                               self._inputs.data.log_bucket_arn)
        kind = RestApi if settings.api.kind == "rest" else HttpApi
        return kind(self, "gateway", api_inputs)

    def _upload(self, id_: str, artifact: Artifact) -> S3Object:
        # The asset's folder is named by the zip's SHA-256 (cdktf's default is an MD5 of it), so the
        # zip's one hash is all that a changed function changes in the synth (delivery/code_resynth.py).
        asset = TerraformAsset(self, f"{id_}_asset", path=str(artifact.path), type=AssetType.FILE,
                               asset_hash=artifact.sha256_hex)
        return S3Object(
            self, f"{id_}_object", bucket=self._inputs.data.code_bucket_name, key=artifact.key,
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
        data, settings = self._inputs.data, self._inputs.settings
        def arn(service: str, resource: str) -> str:
            return f"arn:{self._partition}:{service}:{settings.region}:{self._account_id}:{resource}"

        specs = rolled_out(self._inputs.functions)
        return {
            TABLE: [data.table_arn, f"{data.table_arn}/index/*"],
            IDEMPOTENCY_TABLE: [data.idempotency_table_arn],
            STATE_MACHINE: [self._state_machine_arn()],
            EVENTS_TOPIC: [data.events_topic_arn],
            # Names, not references: the groups are built after the functions, the hook among them.
            DEPLOYMENT_GROUPS: [arn("codedeploy", f"deploymentgroup:{application_name(settings)}/"
                                                  f"{deployment_group_name(settings, spec)}") for spec in specs],
            # Every published version (function:<name>:<version>) of the functions rolled out.
            ROLLED_OUT_VERSIONS: [arn("lambda", f"function:{settings.name(spec.name)}:*") for spec in specs],
        }

    def _state_machine_arn(self) -> str:
        return state_machine_arn(self._inputs.settings, self._account_id, self._partition)

    def _environment_values(self) -> dict[str, str]:
        """The value of every handler environment variable of the catalog (built once)."""
        data, settings = self._inputs.data, self._inputs.settings
        return {
            TABLE_NAME: data.table_name,
            IDEMPOTENCY_TABLE_NAME: data.idempotency_table_name,
            STATE_MACHINE_ARN: self._state_machine_arn(),
            ALLOWED_ORIGINS: ",".join(settings.app.allowed_origins),
            EVENTS_TOPIC_ARN: data.events_topic_arn,
            DEPLOYMENT_APPLICATION_NAME: application_name(settings),
            SMOKE_CHECKS: json.dumps({settings.name(each.name): each.smoke_check.as_json()
                                      for each in rolled_out(self._inputs.functions) if each.smoke_check},
                                     sort_keys=True, separators=(",", ":")),
        }

    def _environment(self, spec: FunctionSpec) -> dict[str, str]:
        return {name: self._environment_variables[name] for name in spec.environment}

    def _runtime_statements(self, spec: FunctionSpec) -> list[Statement]:
        """Grants a function needs because of how it is triggered, not what its code calls."""
        if isinstance(spec.trigger, StreamTrigger):
            # Poll-based event source mapping reads the stream with the function's role, and
            # writes discarded batches to its S3 on-failure destination with it too.
            bucket = self._inputs.data.stream_failure_bucket_arn
            return [allow(STREAM_READ_ACTIONS, [self._inputs.data.table_stream_arn], sid="RuntimeStreamRead"),
                    allow(STREAM_FAILURE_OBJECT_ACTIONS, [f"{bucket}/*"], sid="RuntimeStreamFailureObjects"),
                    allow(STREAM_FAILURE_BUCKET_ACTIONS, [bucket], sid="RuntimeStreamFailureBucket")]
        return []

    def _build_function(self, spec: FunctionSpec) -> Function:
        inputs, settings = self._inputs, self._inputs.settings
        artifact = self.artifacts[spec.name]
        uploaded = self._upload(f"{spec.construct_id}_code", artifact)
        network = inputs.network
        return Function(self, spec.construct_id, FunctionOptions(
            settings=settings, name=spec.name, handler=spec.handler,
            code=CodeLocation(bucket=uploaded.bucket, key=uploaded.key, object_version=uploaded.version_id,
                              sha256_b64=artifact.sha256_b64),
            sizing=settings.app.sizing(spec.name, inputs.functions),
            kms_key_arn=inputs.kms_key_arn,
            dead_letter_queue_arn=inputs.data.dead_letter_queue_arns[spec.name],
            layer_arns=[self.layer.arn],
            environment=self._environment(spec),
            handler_statements=spec.handler_statements(self._handler_resources),
            subnet_ids=list(network.private_subnet_ids) if network else None,
            security_group_ids=[network.lambda_security_group_id] if network else None,
            asynchronous=spec.asynchronous,
            snapstart=spec.name in settings.app.snapstart_functions,
            extra_statements=self._runtime_statements(spec),
            alias_moved_by_codedeploy=not isinstance(spec.trigger, DeploymentHookTrigger),
        ))

    def _build_rule(self, spec: FunctionSpec, trigger: RuleTrigger) -> None:
        """An EventBridge rule invoking the function's alias (asynchronously: bounded retries,
        then the rule's own dead-letter queue)."""
        settings, function = self._inputs.settings, self.functions[spec.name]
        key = spec.construct_id if isinstance(trigger, ScheduleTrigger) else trigger.rule.replace("-", "_")
        if isinstance(trigger, ScheduleTrigger):
            rule = CloudwatchEventRule(self, f"{key}_schedule", name=settings.name(trigger.rule),
                                       description=trigger.description,
                                       schedule_expression=settings.app.schedule_expression)
            statement = "Allow" + "".join(part.title() for part in spec.name.split("-")) + "Schedule"
        else:
            assert isinstance(trigger, ExecutionEndTrigger)
            rule = CloudwatchEventRule(self, f"{key}_rule", name=settings.name(trigger.rule),
                                       description=trigger.description,
                                       event_pattern=json.dumps(self._execution_end_pattern(trigger)))
            statement = "Allow" + "".join(part.title() for part in trigger.rule.split("-"))
        CloudwatchEventTarget(
            self, f"{key}_target", rule=rule.name, arn=function.alias.arn, target_id=spec.name,
            retry_policy=CloudwatchEventTargetRetryPolicy(maximum_event_age_in_seconds=3600,
                                                          maximum_retry_attempts=3),
            dead_letter_config=CloudwatchEventTargetDeadLetterConfig(
                arn=self._inputs.data.dead_letter_queue_arns[trigger.queue]))
        LambdaPermission(self, f"{key}_invoke_permission", statement_id=statement,
                         action="lambda:InvokeFunction", principal="events.amazonaws.com",
                         function_name=function.function.function_name, qualifier=function.alias.name,
                         source_arn=rule.arn)

    def _execution_end_pattern(self, trigger: ExecutionEndTrigger) -> dict[str, object]:
        """Status changes of this workspace's job workflow to one of the trigger's statuses
        (Amazon EventBridge events reference, "AWS Step Functions events")."""
        return {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
                "detail": {"stateMachineArn": [self._state_machine_arn()], "status": list(trigger.statuses)}}

    def _build_stream_mapping(self, spec: FunctionSpec) -> None:
        """Retries stay bounded (a poison record must not block its shard for the stream's
        24 h), and nothing is lost when they run out: Lambda's S3 on-failure destination
        receives the invocation record with the batch's records, where SQS/SNS destinations get
        metadata only (AWS Lambda guide, "Retain discarded records for a DynamoDB event source
        in Lambda"). `python -m handlers.stream.redrive` replays them."""
        assert isinstance(spec.trigger, StreamTrigger)
        app, consumer = self._inputs.settings.app, self.functions[spec.name]
        LambdaEventSourceMapping(
            self, f"{spec.trigger.id_prefix}_mapping", event_source_arn=self._inputs.data.table_stream_arn,
            function_name=consumer.alias.arn, starting_position="LATEST",
            batch_size=app.stream_batch_size,
            maximum_batching_window_in_seconds=app.stream_batching_window_seconds,
            bisect_batch_on_function_error=True, maximum_retry_attempts=app.stream_max_retries,
            maximum_record_age_in_seconds=app.stream_max_record_age_seconds,
            function_response_types=["ReportBatchItemFailures"],
            destination_config=LambdaEventSourceMappingDestinationConfig(
                on_failure=LambdaEventSourceMappingDestinationConfigOnFailure(
                    destination_arn=self._inputs.data.stream_failure_bucket_arn)),
            depends_on=[consumer.policy])


class AppStack(LayerStack):
    """`<workspace>-app`."""

    def __init__(self, scope: Construct, settings: WorkspaceSettings, kms_key_arn: str, data: DataOutputs,
                 network: NetworkOutputs | None, artifacts: WorkspaceArtifacts,
                 functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> None:
        super().__init__(scope, settings, "app")
        app = AppLayer(self, "app", AppInputs(settings, kms_key_arn, data, network, artifacts, functions))
        self.outputs = app.outputs
        for name, function in app.functions.items():
            TerraformOutput(self, f"{name.replace('-', '_')}_function_name",
                            description=f"Lambda function name of `{name}`", value=function.function.function_name)
        [api_spec] = triggered_by(ApiTrigger, functions)
        TerraformOutput(self, "api_alias_arn", description="The API function's `live` alias (what the API invokes)",
                        value=app.functions[api_spec.name].alias.arn)
        TerraformOutput(self, "state_machine_arn", description="Step Functions state machine running the jobs",
                        value=self.outputs.state_machine_arn)
        TerraformOutput(self, "api_url", description="Invoke URL of the API stage", value=self.outputs.api.url)
        TerraformOutput(self, "api_id", description="Id of the API (REST or HTTP)", value=self.outputs.api.api_id)
        if self.outputs.api.key_id is not None:
            TerraformOutput(self, "api_key_id", description="Id of the first client's API key",
                            value=self.outputs.api.key_id)
            TerraformOutput(self, "api_key_value", description="Value of the first client's API key (sensitive)",
                            value=self.outputs.api.key_value, sensitive=True)
            # Every client's key (the first is also api_key_id/api_key_value above).
            TerraformOutput(self, "api_client_key_ids", description="Every API client's key id, by client",
                            value=self.outputs.api.client_key_ids)
            TerraformOutput(self, "api_client_key_values",
                            description="Every API client's key value, by client (sensitive)",
                            value=self.outputs.api.client_key_values, sensitive=True)
