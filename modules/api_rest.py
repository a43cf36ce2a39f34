"""REST API (the default kind): every contract route, keys and usage plan, request
validation from the handler's schemas, CORS, JSON errors from the gateway itself,
encrypted JSON access logs (also archived to S3), tracing, optional domain and WAF."""

from __future__ import annotations

import hashlib
import json

from cdktf import Fn, Postcondition, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.api_gateway_api_key import ApiGatewayApiKey
from cdktf_cdktf_provider_aws.api_gateway_base_path_mapping import ApiGatewayBasePathMapping
from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment
from cdktf_cdktf_provider_aws.api_gateway_domain_name import (
    ApiGatewayDomainName,
    ApiGatewayDomainNameEndpointConfiguration,
)
from cdktf_cdktf_provider_aws.api_gateway_gateway_response import ApiGatewayGatewayResponse
from cdktf_cdktf_provider_aws.api_gateway_integration import ApiGatewayIntegration
from cdktf_cdktf_provider_aws.api_gateway_integration_response import ApiGatewayIntegrationResponse
from cdktf_cdktf_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktf_cdktf_provider_aws.api_gateway_method_response import ApiGatewayMethodResponse
from cdktf_cdktf_provider_aws.api_gateway_method_settings import (
    ApiGatewayMethodSettings,
    ApiGatewayMethodSettingsSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_model import ApiGatewayModel
from cdktf_cdktf_provider_aws.api_gateway_request_validator import ApiGatewayRequestValidator
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktf_cdktf_provider_aws.api_gateway_rest_api import (
    ApiGatewayRestApi,
    ApiGatewayRestApiEndpointConfiguration,
)
from cdktf_cdktf_provider_aws.api_gateway_stage import ApiGatewayStage, ApiGatewayStageAccessLogSettings
from cdktf_cdktf_provider_aws.api_gateway_usage_plan import (
    ApiGatewayUsagePlan,
    ApiGatewayUsagePlanApiStages,
    ApiGatewayUsagePlanQuotaSettings,
    ApiGatewayUsagePlanThrottleSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_usage_plan_key import ApiGatewayUsagePlanKey
from cdktf_cdktf_provider_aws.data_aws_iam_roles import DataAwsIamRoles
from constructs import Construct

from modules.api_common import (
    PUBLIC_ROUTES,
    REQUEST_MODEL_NAMES,
    REQUEST_SCHEMAS,
    REST_ACCESS_LOG_FIELDS,
    ROUTES,
    ApiInputs,
    ApiOutputs,
    access_log_format,
    allow_invoke,
    build_access_logs,
    path_id,
    request_parameters,
    route_throttle,
)
from modules.bootstrap import account_logging_role_name
from modules.config import WorkspaceSettings
from modules.waf import RegionalWaf

CORS_METHODS = "'DELETE,GET,OPTIONS,POST,PUT'"
CORS_HEADERS = "'Content-Type,Idempotency-Key,X-Api-Key,X-Amz-Date,Authorization'"
PREFLIGHT_REQUEST_TEMPLATE = '{"statusCode": 200}'
VALIDATOR_NAME = "body-and-parameters"  # validates bodies and parameters
# API Gateway substitutes this variable with the error message already quoted as a JSON
# string ("$context.error.message", escaped), so it goes into the template unquoted.
# `$context.error.message` and `$context.error.validationErrorString` are substituted raw:
# both can contain `"` (validation errors quote property names), which would break the
# JSON body, so neither appears in a template.
ERROR_MESSAGE_STRING = "$context.error.messageString"
# The gateway's own errors, in the product's error shape.
GATEWAY_ERRORS: dict[str, tuple[str | None, str, str]] = {
    # response type: (status override, code, message: literal text or ERROR_MESSAGE_STRING)
    "DEFAULT_4XX": (None, "client_error", ERROR_MESSAGE_STRING),
    "DEFAULT_5XX": (None, "gateway_error", "the API gateway could not process the request"),
    # The validator's detail (validationErrorString) cannot be quoted safely, so the message
    # is fixed; the function names the offending field for bodies the gateway lets through.
    "BAD_REQUEST_BODY": ("422", "validation_error", "the request body does not match this route's schema"),
    "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found", "no route matches this method and path"),
    "INVALID_API_KEY": ("403", "forbidden", "a valid x-api-key header is required"),
    "THROTTLED": ("429", "throttled", "too many requests; retry after the Retry-After delay"),
    "QUOTA_EXCEEDED": ("429", "quota_exceeded", "the usage plan quota is used up"),
    "REQUEST_TOO_LARGE": ("413", "payload_too_large", "the request is larger than the API accepts"),
    # A managed rule of the web ACL blocked the request (custom WAF responses take precedence
    # where a rule has one); what it refuses is the document's x-waf-refusals.
    "WAF_FILTERED": ("403", "request_refused", "the request was refused by the API's web application firewall"),
    # The Lambda API rejected the invocation (a throttle: 429 from Invoke). AWS: "If the
    # Lambda API rejects the invocation request, API Gateway returns a 500 error code" (Lambda
    # developer guide, "Handling Lambda errors with an API Gateway API"), an execution failure
    # of the integration's configuration, not INTEGRATION_FAILURE (504 class). The status
    # stays 500 (DEFAULT_5XX, the fallback, cannot be overridden without changing every
    # other 5xx), and the contract says 500 service_unavailable with Retry-After.
    "API_CONFIGURATION_ERROR": (None, "service_unavailable",
                                "the function could not be invoked; retry after the Retry-After delay"),
    "INTEGRATION_FAILURE": ("503", "service_unavailable",
                            "the service is temporarily unavailable; retry after the Retry-After delay"),
    "INTEGRATION_TIMEOUT": (None, "gateway_timeout", "the function did not answer in time"),
}
# Extra headers of some gateway responses (static values), and the CORS header that lets
# browsers read them.
RETRY_AFTER_SECONDS = 1
GATEWAY_ERROR_HEADERS: dict[str, dict[str, str]] = {
    response_type: {"Retry-After": f"'{RETRY_AFTER_SECONDS}'", "Access-Control-Expose-Headers": "'Retry-After'"}
    for response_type in ("THROTTLED", "API_CONFIGURATION_ERROR", "INTEGRATION_FAILURE")
}


def error_template(code: str, message: str) -> str:
    """A gateway response template rendering the product's JSON error shape."""
    # Literal text is JSON-quoted here; it must not contain `$`, which VTL would expand.
    if message != ERROR_MESSAGE_STRING and "$" in message:
        raise ValueError(f"gateway error message {message!r} contains '$'; allowed: literal text or "
                         f"{ERROR_MESSAGE_STRING}")
    rendered = message if message == ERROR_MESSAGE_STRING else json.dumps(message)
    return ('{"error":{"code":' + json.dumps(code) + ',"message":' + rendered
            + ',"request_id":"$context.requestId"}}')


def allowed_origin(settings: WorkspaceSettings) -> str:
    """The static Access-Control-Allow-Origin the gateway answers preflights and its own
    errors with; the function matches the request's Origin against the whole list."""
    origins = settings.app.allowed_origins
    return f"'{origins[0]}'" if origins else "'*'"


def definition_digest(settings: WorkspaceSettings) -> str:
    """Hash of every value the API definition is generated from: routes, public routes,
    request schemas and model names, the validator, gateway error templates and headers,
    CORS preflights (methods, headers, origin, mock template) and the API settings. Any
    change to one of them redeploys the stage (resource ids are hashed alongside)."""
    material = json.dumps({
        "routes": ROUTES, "public": sorted(PUBLIC_ROUTES),
        "schemas": {f"{m} {p}": s for (m, p), s in REQUEST_SCHEMAS.items()},
        "models": {f"{m} {p}": name for (m, p), name in REQUEST_MODEL_NAMES.items()},
        "validator": {"name": VALIDATOR_NAME, "body": True, "parameters": True},
        "errors": {t: [status, error_template(code, message), GATEWAY_ERROR_HEADERS.get(t, {})]
                   for t, (status, code, message) in GATEWAY_ERRORS.items()},
        "cors": {"methods": CORS_METHODS, "headers": CORS_HEADERS, "origin": allowed_origin(settings),
                 "allowed_origins": list(settings.app.allowed_origins), "template": PREFLIGHT_REQUEST_TEMPLATE},
        "settings": settings.api.model_dump(mode="json"),
    }, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


class RestApi(Construct):
    """The REST API in front of the api function's `live` alias."""

    def __init__(self, scope: Construct, id_: str, inputs: ApiInputs) -> None:
        super().__init__(scope, id_)
        self._inputs = inputs
        settings = inputs.settings
        self.api = ApiGatewayRestApi(
            self, "rest_api", name=settings.name("api"), description="Items and jobs API",
            endpoint_configuration=ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True))
        self._validator = ApiGatewayRequestValidator(self, "validator", rest_api_id=self.api.id, name=VALIDATOR_NAME,
                                                     validate_request_body=True, validate_request_parameters=True)
        self._models = {route: ApiGatewayModel(self, f"model_{REQUEST_MODEL_NAMES[route]}", rest_api_id=self.api.id,
                                               name=REQUEST_MODEL_NAMES[route], content_type="application/json",
                                               schema=json.dumps(schema, sort_keys=True))
                        for route, schema in REQUEST_SCHEMAS.items()}
        self._resources = self._build_resources()
        # Ids of every resource that defines the API, for the deployment trigger.
        self._parts: list[str] = [self._validator.id, *(m.id for m in self._models.values()),
                                  *(r.id for r in self._resources.values())]
        for method, path in ROUTES:
            self._build_route(method, path)
        for path in sorted(self._resources):
            self._build_cors_preflight(path)
        self._build_gateway_responses()
        self.stage = self._build_stage()
        allow_invoke(self, inputs.api_function, self.api.execution_arn)
        keys = self._build_usage_plan()
        first = keys[settings.api.clients[0]]
        self.outputs = ApiOutputs(api_id=self.api.id, url=self.stage.invoke_url,
                                  metric_dimensions={"ApiName": self.api.name, "Stage": settings.workspace},
                                  metric_names={"5xx": "5XXError", "4xx": "4XXError", "latency": "Latency"},
                                  key_id=first.id, key_value=first.value,
                                  client_key_ids={client: key.id for client, key in keys.items()},
                                  client_key_values={client: key.value for client, key in keys.items()})
        if settings.api.domain_name and settings.api.certificate_arn:
            self._build_domain(settings.api.domain_name, settings.api.certificate_arn)
        if settings.api.waf_enabled:
            RegionalWaf(self, "waf", settings=settings, kms_key_arn=inputs.kms_key_arn,
                        resource_arn=self.stage.arn)

    def _build_resources(self) -> dict[str, ApiGatewayResource]:
        resources: dict[str, ApiGatewayResource] = {}
        for _method, path in ROUTES:
            parent_id = self.api.root_resource_id
            current = ""
            for part in path.strip("/").split("/"):
                current = f"{current}/{part}"
                if current not in resources:
                    resources[current] = ApiGatewayResource(self, f"resource_{path_id(current)}",
                                                            rest_api_id=self.api.id, parent_id=parent_id,
                                                            path_part=part)
                parent_id = resources[current].id
        return resources

    def _build_route(self, method: str, path: str) -> None:
        id_ = f"{method.lower()}_{path_id(path)}"
        route = (method, path)
        parameters = request_parameters(method, path)
        cached = self._inputs.settings.api.cached_routes
        gateway_method = ApiGatewayMethod(
            self, f"method_{id_}", rest_api_id=self.api.id, resource_id=self._resources[path].id,
            http_method=method, authorization="NONE", api_key_required=route not in PUBLIC_ROUTES,
            request_validator_id=self._validator.id,
            request_models={"application/json": self._models[route].name} if route in REQUEST_SCHEMAS else None,
            request_parameters=parameters or None)
        integration = ApiGatewayIntegration(
            self, f"integration_{id_}", rest_api_id=self.api.id, resource_id=self._resources[path].id,
            http_method=gateway_method.http_method, type="AWS_PROXY", integration_http_method="POST",
            uri=self._inputs.api_function.alias.invoke_arn,
            # A cached route has every parameter as a cache key: a cached answer is only ever
            # reused for the same id, page and limit (AWS "Cache settings for REST APIs").
            # Only cached routes list them (the local emulator does not keep the list).
            cache_key_parameters=sorted(parameters) if f"{method} {path}" in cached and parameters else None)
        self._parts += [gateway_method.id, integration.id]

    def _build_cors_preflight(self, path: str) -> None:
        id_ = path_id(path)
        resource_id = self._resources[path].id
        method = ApiGatewayMethod(self, f"options_{id_}", rest_api_id=self.api.id, resource_id=resource_id,
                                  http_method="OPTIONS", authorization="NONE", request_validator_id=self._validator.id)
        integration = ApiGatewayIntegration(self, f"options_{id_}_integration", rest_api_id=self.api.id,
                                            resource_id=resource_id, http_method=method.http_method, type="MOCK",
                                            request_templates={"application/json": PREFLIGHT_REQUEST_TEMPLATE})
        headers = ("Access-Control-Allow-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Origin")
        response = ApiGatewayMethodResponse(
            self, f"options_{id_}_response", rest_api_id=self.api.id, resource_id=resource_id,
            http_method=method.http_method, status_code="200",
            response_parameters={f"method.response.header.{h}": True for h in headers})
        integration_response = ApiGatewayIntegrationResponse(
            self, f"options_{id_}_integration_response", rest_api_id=self.api.id, resource_id=resource_id,
            http_method=method.http_method, status_code=response.status_code,
            response_parameters={
                "method.response.header.Access-Control-Allow-Headers": CORS_HEADERS,
                "method.response.header.Access-Control-Allow-Methods": CORS_METHODS,
                "method.response.header.Access-Control-Allow-Origin": allowed_origin(self._inputs.settings),
            }, depends_on=[integration])
        self._parts += [method.id, integration.id, response.id, integration_response.id]

    def _build_gateway_responses(self) -> None:
        for response_type, (status, code, message) in sorted(GATEWAY_ERRORS.items()):
            response = ApiGatewayGatewayResponse(
                self, f"gateway_response_{response_type.lower()}", rest_api_id=self.api.id,
                response_type=response_type, status_code=status,
                response_templates={"application/json": error_template(code, message)},
                response_parameters={"gatewayresponse.header.Access-Control-Allow-Origin":
                                     allowed_origin(self._inputs.settings),
                                     "gatewayresponse.header.Access-Control-Allow-Headers": CORS_HEADERS,
                                     **{f"gatewayresponse.header.{name}": value
                                        for name, value in GATEWAY_ERROR_HEADERS.get(response_type, {}).items()}})
            self._parts.append(response.id)

    def _build_stage(self) -> ApiGatewayStage:
        settings = self._inputs.settings
        deployment = ApiGatewayDeployment(
            self, "deployment", rest_api_id=self.api.id, description=f"{settings.workspace} deployment",
            triggers={"redeployment": Fn.sha1(Fn.jsonencode(
                [definition_digest(settings), *self._parts]))},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True))
        log_group = build_access_logs(self, self._inputs)
        cached = settings.api.cached_routes
        account_role = self._require_account_logging_role()
        stage = ApiGatewayStage(
            self, "stage", rest_api_id=self.api.id, deployment_id=deployment.id, stage_name=settings.workspace,
            xray_tracing_enabled=settings.xray_tracing,
            cache_cluster_enabled=bool(cached),
            cache_cluster_size=settings.api.cache_cluster_size if cached else None,
            access_log_settings=ApiGatewayStageAccessLogSettings(
                destination_arn=log_group.arn, format=access_log_format(REST_ACCESS_LOG_FIELDS)),
            depends_on=[account_role])
        # Every method: throttled at its share of the API's throttle, never cached...
        ApiGatewayMethodSettings(self, "method_settings", rest_api_id=self.api.id, stage_name=stage.stage_name,
                                 method_path="*/*", settings=self._method_settings(None), depends_on=[account_role])
        # ...except the GET routes configured as cached, each with its TTL.
        for route, ttl in sorted(cached.items()):
            method, path = route.split(" ", 1)
            ApiGatewayMethodSettings(self, f"method_settings_{method.lower()}_{path_id(path)}",
                                     rest_api_id=self.api.id, stage_name=stage.stage_name,
                                     method_path=f"{path.lstrip('/')}/{method}", settings=self._method_settings(ttl),
                                     depends_on=[account_role])
        return stage

    def _method_settings(self, cache_ttl: int | None) -> ApiGatewayMethodSettingsSettings:
        """A method's stage settings; `cache_ttl` None for an uncached method."""
        settings = self._inputs.settings
        rate, burst = route_throttle(settings)
        return ApiGatewayMethodSettingsSettings(
            metrics_enabled=True, logging_level=settings.api.execution_logging_level,
            data_trace_enabled=settings.workspace in ("local", "dev"),
            throttling_burst_limit=burst, throttling_rate_limit=rate,
            caching_enabled=cache_ttl is not None, cache_ttl_in_seconds=cache_ttl,
            # Encrypted whenever a cache exists; set either way so the setting never drifts.
            cache_data_encrypted=True,
            # Only callers allowed to invalidate may bypass the cache with Cache-Control: max-age=0.
            require_authorization_for_cache_control=True if cache_ttl is not None else None,
            unauthorized_cache_control_header_strategy="FAIL_WITH_403" if cache_ttl is not None else None)

    def _build_usage_plan(self) -> dict[str, ApiGatewayApiKey]:
        """One usage plan; one API key per client in it, so the per-key throttle and quota
        (AWS "Usage plans and API keys": limits apply to each key) are each client's own.
        The first client keeps the original key's id and name: upgrading replaces nothing."""
        settings = self._inputs.settings
        api = settings.api
        quota = api.quota_per_month
        plan = ApiGatewayUsagePlan(
            self, "usage_plan", name=settings.name("api-plan"),
            api_stages=[ApiGatewayUsagePlanApiStages(api_id=self.api.id, stage=self.stage.stage_name)],
            throttle_settings=ApiGatewayUsagePlanThrottleSettings(burst_limit=api.client_burst_limit,
                                                                  rate_limit=api.client_rate_limit),
            quota_settings=ApiGatewayUsagePlanQuotaSettings(limit=quota, period="MONTH") if quota else None)
        keys = {}
        for index, client in enumerate(api.clients):
            suffix = "" if index == 0 else f"_{client.replace('-', '_')}"
            name = settings.name("api-key") if index == 0 else settings.name(f"api-key-{client}")
            keys[client] = ApiGatewayApiKey(self, f"api_key{suffix}", name=name, enabled=True)
            ApiGatewayUsagePlanKey(self, f"usage_plan_key{suffix}", key_id=keys[client].id, key_type="API_KEY",
                                   usage_plan_id=plan.id)
        return keys

    def _build_domain(self, domain_name: str, certificate_arn: str) -> None:
        domain = ApiGatewayDomainName(
            self, "domain", domain_name=domain_name, regional_certificate_arn=certificate_arn,
            security_policy="TLS_1_2",
            endpoint_configuration=ApiGatewayDomainNameEndpointConfiguration(types=["REGIONAL"]))
        ApiGatewayBasePathMapping(self, "base_path", api_id=self.api.id, stage_name=self.stage.stage_name,
                                  domain_name=domain.domain_name)

    # --- account-level prerequisite (created by `bootstrap`, see modules/bootstrap.py) ------

    def _require_account_logging_role(self) -> DataAwsIamRoles:
        """The stage logs (access logs, execution logs): API Gateway must already hold its
        account-level CloudWatch role ("To enable CloudWatch Logs, you must grant API
        Gateway permission to read and write logs to CloudWatch for your account", Set up
        CloudWatch logging for REST APIs in API Gateway). `bootstrap` creates it and keeps
        local state, so there is nothing to reference: this lookup by its deterministic
        name, which the stage and its method settings depend on, fails the plan with a
        clear message when `bootstrap` has not been deployed in this account and region."""
        name = account_logging_role_name(self._inputs.settings)
        return DataAwsIamRoles(
            self, "account_logging_role", name_regex=f"^{name}$",
            lifecycle=TerraformResourceLifecycle(postcondition=[Postcondition(
                condition="${length(self.names) == 1}",
                error_message=f"API Gateway's account CloudWatch role {name} does not exist in this account: "
                              "deploy the `bootstrap` stack first (docs/deploying.md).")]))
