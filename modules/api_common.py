"""What both API kinds share: the route contract read from the handler package, the
JSON access-log format, the encrypted access-log group and the invoke permission."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from constructs import Construct

# Route metadata only: handlers/api/routes_table.py imports nothing but the standard library.
from handlers.api.routes_table import PUBLIC_ROUTES, REQUEST_MODEL_NAMES, REQUEST_SCHEMAS, ROUTES
from modules.config import WorkspaceSettings
from modules.function import Function
from modules.log_archive import LogArchive

__all__ = ["PUBLIC_ROUTES", "REQUEST_MODEL_NAMES", "REQUEST_SCHEMAS", "ROUTES", "ApiInputs", "ApiOutputs",
           "access_log_format", "build_access_logs", "allow_invoke", "path_id"]

# Fields every access-log line carries, with the context variables both API kinds share.
_SHARED_ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "sourceIp": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "user": "$context.identity.user",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
}
REST_ACCESS_LOG_FIELDS = {
    **_SHARED_ACCESS_LOG_FIELDS,
    "resourcePath": "$context.resourcePath",
    "integrationError": "$context.integration.error",
    "apiKeyId": "$context.identity.apiKeyId",
}
# HTTP API context variables (AWS: "Customize HTTP API access logs"). HTTP APIs have no
# API keys (so no apiKeyId) and no resource tree: the matched route key stands for the
# resource path; caller and user are the SigV4 (AWS_IAM) principal.
HTTP_ACCESS_LOG_FIELDS = {
    **_SHARED_ACCESS_LOG_FIELDS,
    "resourcePath": "$context.routeKey",
    "integrationError": "$context.integrationErrorMessage",
}


def access_log_format(fields: dict[str, str]) -> str:
    """One JSON object per request, keys sorted so the output is stable."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class ApiInputs:
    settings: WorkspaceSettings
    kms_key_arn: str
    api_function: Function
    log_bucket_arn: str


@dataclass(frozen=True)
class ApiOutputs:
    """What the app stack and observability read from either API kind."""

    api_id: str
    url: str
    # CloudWatch dimensions of the API's metrics, and the names of its metrics by role
    # ("5xx", "4xx", "latency"): they differ between the REST and the HTTP kind.
    metric_dimensions: dict[str, str]
    metric_names: dict[str, str]
    key_id: str | None = None  # the REST kind's API key; HTTP APIs have none
    key_value: str | None = None


def path_id(path: str) -> str:
    """A construct-id fragment for a route path: ``/items/{id}`` -> ``items_id``."""
    return path.strip("/").replace("/", "_").replace("{", "").replace("}", "")


def build_access_logs(scope: Construct, inputs: ApiInputs) -> CloudwatchLogGroup:
    """The stage's access log group (CMK), archived to the log bucket; returns the group."""
    settings = inputs.settings
    log_group = CloudwatchLogGroup(scope, "access_log_group", name=f"/aws/apigateway/{settings.name('api')}/access",
                                   retention_in_days=settings.log_retention_days, kms_key_id=inputs.kms_key_arn)
    LogArchive(scope, "access_log_archive", settings=settings, kms_key_arn=inputs.kms_key_arn,
               log_group_name=log_group.name, log_bucket_arn=inputs.log_bucket_arn, prefix="api-access")
    return log_group


def allow_invoke(scope: Construct, function: Function, execution_arn: str) -> LambdaPermission:
    """API Gateway may invoke the `live` alias, from this API only."""
    return LambdaPermission(scope, "invoke_permission", statement_id="AllowApiGateway",
                            action="lambda:InvokeFunction", principal="apigateway.amazonaws.com",
                            function_name=function.function.function_name, qualifier=function.alias.name,
                            source_arn=f"{execution_arn}/*")
