"""What both API kinds share: the route contract read from the handler package, the
JSON access-log format, the encrypted access-log group and the invoke permission."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from constructs import Construct

# Route metadata only: handlers/api/routes_table.py imports nothing but the standard library.
from handlers.api.routes_table import PUBLIC_ROUTES, REQUEST_MODEL_NAMES, REQUEST_SCHEMAS, ROUTES
from modules.config import WorkspaceSettings
from modules.function import Function
from modules.log_archive import LogArchive

__all__ = ["PUBLIC_ROUTES", "QUERY_PARAMETERS", "REQUEST_MODEL_NAMES", "REQUEST_SCHEMAS", "ROUTES", "ApiInputs",
           "ApiOutputs", "access_log_format", "build_access_logs", "allow_invoke", "path_id", "request_parameters",
           "route_throttle"]

# Query parameters of the GET routes, as the OpenAPI document declares them (the contract
# suite compares the two): declared on the methods, and cache keys where a route is cached.
QUERY_PARAMETERS: dict[tuple[str, str], tuple[str, ...]] = {("GET", "/items"): ("limit", "cursor")}

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
    key_id: str | None = None  # the REST kind's first client's API key; HTTP APIs have none
    key_value: str | None = None
    # Every client's key by client name (REST kind): ids, and values (sensitive).
    client_key_ids: dict[str, str] = field(default_factory=dict)
    client_key_values: dict[str, str] = field(default_factory=dict)


def path_id(path: str) -> str:
    """A construct-id fragment for a route path: ``/items/{id}`` -> ``items_id``."""
    return path.strip("/").replace("/", "_").replace("{", "").replace("}", "")


def request_parameters(method: str, path: str) -> dict[str, bool]:
    """A route's path (required) and query (optional) parameters as API Gateway names."""
    parameters = {f"method.request.path.{p[1:-1]}": True for p in path.split("/") if p.startswith("{")}
    parameters.update({f"method.request.querystring.{q}": False for q in QUERY_PARAMETERS.get((method, path), ())})
    return parameters


def route_throttle(settings: WorkspaceSettings, extra_routes: int = 0) -> tuple[float, int]:
    """Rate and burst of each route: the API's throttle split evenly over its routes (the
    contract's, plus `extra_routes` such as an HTTP API's `$default`), since API Gateway gives
    every method (route) of a stage its own token bucket (AWS "Throttle requests to your REST
    APIs": per-stage limits are applied at the method level)."""
    routes = len(ROUTES) + extra_routes
    return settings.api.throttle_rate_limit / routes, max(1, settings.api.throttle_burst_limit // routes)


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
