"""One helper for every Lambda function: role, log group, function, alias and the
asynchronous-invocation settings, so no block is written once per function."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_alias import LambdaAlias
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionDeadLetterConfig,
    LambdaFunctionEnvironment,
    LambdaFunctionLoggingConfig,
    LambdaFunctionSnapStart,
    LambdaFunctionTracingConfig,
    LambdaFunctionVpcConfig,
)
from cdktf_cdktf_provider_aws.lambda_function_event_invoke_config import (
    LambdaFunctionEventInvokeConfig,
    LambdaFunctionEventInvokeConfigDestinationConfig,
    LambdaFunctionEventInvokeConfigDestinationConfigOnFailure,
)
from constructs import Construct

from handlers.shared.constants import LIVE_ALIAS
from modules.catalog import AsyncInvocation
from modules.config import FunctionSizing, WorkspaceSettings
from modules.iam import Statement, allow, assume_role_policy, policy_document

# Actions a function needs only because of how it runs, not because its code calls them.
# Each has no resource-level permission (Resource "*"), with the reason.
RUNTIME_WILDCARD_ACTIONS: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray write APIs have no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray write APIs have no resource-level permissions",
    "ec2:CreateNetworkInterface": "VPC functions: ENI actions have no resource-level permissions",
    "ec2:DescribeNetworkInterfaces": "VPC functions: ENI actions have no resource-level permissions",
    "ec2:DeleteNetworkInterface": "VPC functions: ENI actions have no resource-level permissions",
    "ec2:AssignPrivateIpAddresses": "VPC functions: ENI actions have no resource-level permissions",
    "ec2:UnassignPrivateIpAddresses": "VPC functions: ENI actions have no resource-level permissions",
}


@dataclass(frozen=True)
class CodeLocation:
    bucket: str
    key: str
    object_version: str
    sha256_b64: str


@dataclass(frozen=True)
class FunctionOptions:
    """Everything one function is built from."""

    settings: WorkspaceSettings
    name: str  # short name, e.g. "api"
    handler: str
    code: CodeLocation
    sizing: FunctionSizing
    kms_key_arn: str
    dead_letter_queue_arn: str
    layer_arns: list[str]
    environment: dict[str, str]
    handler_statements: list[Statement]  # what the handler's code calls (see modules/catalog.py)
    subnet_ids: list[str] | None = None
    security_group_ids: list[str] | None = None
    asynchronous: AsyncInvocation | None = None  # bounded retries + on-failure destination
    snapstart: bool = False  # published versions start from a snapshot of the initialized function
    # The alias is created on the first version and then moved by CodeDeploy (modules/codedeploy.py):
    # Terraform ignores its version and routing, so a plan after a rollout shows no changes.
    alias_moved_by_codedeploy: bool = True
    extra_statements: list[Statement] = field(default_factory=list)


class Function(Construct):
    """A Lambda function with its own least-privilege role, encrypted log group created
    first, X-Ray, JSON logs, a published version and the `live` alias every trigger uses."""

    def __init__(self, scope: Construct, id_: str, options: FunctionOptions) -> None:
        super().__init__(scope, id_)
        settings = options.settings
        self.function_name = settings.name(options.name)
        self.log_group = CloudwatchLogGroup(
            self, "log_group", name=f"/aws/lambda/{self.function_name}",
            retention_in_days=settings.log_retention_days, kms_key_id=options.kms_key_arn)
        self.role = IamRole(self, "role", name=f"{self.function_name}-role",
                            assume_role_policy=assume_role_policy("lambda.amazonaws.com"))
        self.policy = IamRolePolicy(self, "policy", role=self.role.id, name="least-privilege",
                                    policy=policy_document(*self._statements(options)))
        self.function = self._build_function(options)
        self.alias = LambdaAlias(
            self, "alias", name=LIVE_ALIAS, function_name=self.function.function_name,
            function_version=self.function.version,
            lifecycle=TerraformResourceLifecycle(ignore_changes=["function_version", "routing_config"])
            if options.alias_moved_by_codedeploy else None)
        if options.asynchronous is not None:
            LambdaFunctionEventInvokeConfig(
                self, "async_config", function_name=self.function.function_name, qualifier=self.alias.name,
                maximum_retry_attempts=options.asynchronous.maximum_retry_attempts,
                maximum_event_age_in_seconds=options.asynchronous.maximum_event_age_in_seconds,
                destination_config=LambdaFunctionEventInvokeConfigDestinationConfig(
                    on_failure=LambdaFunctionEventInvokeConfigDestinationConfigOnFailure(
                        destination=options.dead_letter_queue_arn)))

    def _statements(self, options: FunctionOptions) -> list[Statement]:
        statements = [
            allow(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{self.log_group.arn}:*"], sid="RuntimeLogs"),
            allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*", sid="RuntimeTracing"),
            # Decrypt the environment; encrypt messages to the CMK-encrypted DLQ/topic.
            allow(["kms:Decrypt", "kms:GenerateDataKey"], [options.kms_key_arn], sid="RuntimeKms"),
            allow(["sqs:SendMessage"], [options.dead_letter_queue_arn], sid="RuntimeDeadLetterQueue"),
        ]
        if options.subnet_ids:
            eni = [a for a in RUNTIME_WILDCARD_ACTIONS if a.startswith("ec2:")]
            statements.append(allow(eni, "*", sid="RuntimeVpcNetworkInterfaces"))
        return statements + options.handler_statements + options.extra_statements

    def _build_function(self, options: FunctionOptions) -> LambdaFunction:
        app = options.settings.app
        environment = {
            "POWERTOOLS_SERVICE_NAME": options.name,
            "POWERTOOLS_METRICS_NAMESPACE": options.settings.project,
            "POWERTOOLS_LOG_LEVEL": app.log_level,
            # Powertools' Tracer records each handler's return value (API answers with items,
            # job results) as X-Ray metadata unless told not to: not where clients' data lives.
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false" if options.settings.is_production_like else "true",
            **options.environment,
        }
        vpc = None
        if options.subnet_ids:
            vpc = LambdaFunctionVpcConfig(subnet_ids=options.subnet_ids,
                                          security_group_ids=options.security_group_ids or [])
        return LambdaFunction(
            self, "function",
            function_name=self.function_name,
            role=self.role.arn,
            handler=options.handler,
            runtime=app.lambda_runtime,
            architectures=[app.lambda_architecture],
            s3_bucket=options.code.bucket,
            s3_key=options.code.key,
            s3_object_version=options.code.object_version,
            source_code_hash=options.code.sha256_b64,
            layers=options.layer_arns,
            memory_size=options.sizing.memory_mb,
            timeout=options.sizing.timeout_seconds,
            reserved_concurrent_executions=options.sizing.reserved_concurrency,
            environment=LambdaFunctionEnvironment(variables=environment),
            kms_key_arn=options.kms_key_arn,
            tracing_config=LambdaFunctionTracingConfig(
                mode="Active" if options.settings.xray_tracing else "PassThrough"),
            logging_config=LambdaFunctionLoggingConfig(log_format="JSON", log_group=self.log_group.name,
                                                       application_log_level=_lambda_level(app.log_level),
                                                       system_log_level="INFO"),
            dead_letter_config=LambdaFunctionDeadLetterConfig(target_arn=options.dead_letter_queue_arn),
            vpc_config=vpc,
            publish=True,
            snap_start=LambdaFunctionSnapStart(apply_on="PublishedVersions") if options.snapstart else None,
            depends_on=[self.log_group, self.policy],
        )


def _lambda_level(level: str) -> str:
    return "WARN" if level == "WARNING" else level
