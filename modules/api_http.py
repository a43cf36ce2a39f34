"""HTTP API variant (`api.kind = "http"`): explicit contract routes to the same alias
with payload format 1.0, CORS, a `$default` auto-deploy stage with JSON access logs
and default route throttling, and the optional custom domain. HTTP APIs have no API keys
or usage plans, so every route but /health requires IAM (SigV4) authorization instead.

Settings that do not apply to this kind, by decision (they are REST-only in AWS):
- `api.waf_enabled`: AWS WAF can protect REST API stages but cannot be associated with
  HTTP APIs, so no web ACL is created; use the REST kind (or CloudFront with a web ACL in
  front of the API) where WAF is required.
- the account-level CloudWatch role (`aws_api_gateway_account`, created by `bootstrap`)
  serves REST API logging only; HTTP API access logs are delivered without it
  ("Configuring logging for an HTTP API"), so the HTTP stage does not depend on it.
- usage plans, API keys (`api.clients`, `api.quota_per_month`), request validation, cache
  cluster (`api.cached_routes`) and execution-log level are REST API features with no HTTP
  API counterpart.
- gateway responses: an HTTP API answers a failed or throttled invocation of the function
  with its own 500 `{"message": "Internal Server Error"}`, which cannot be customized; the
  throttle is sized to the function's concurrency so that it does not happen. The HTTP kind's
  OpenAPI document (`python -m handlers.api.openapi --kind http`) publishes these answers and
  SigV4 authentication: it is the contract of this kind.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.apigatewayv2_api import Apigatewayv2Api, Apigatewayv2ApiCorsConfiguration
from cdktf_cdktf_provider_aws.apigatewayv2_api_mapping import Apigatewayv2ApiMapping
from cdktf_cdktf_provider_aws.apigatewayv2_domain_name import (
    Apigatewayv2DomainName,
    Apigatewayv2DomainNameDomainNameConfiguration,
)
from cdktf_cdktf_provider_aws.apigatewayv2_integration import Apigatewayv2Integration
from cdktf_cdktf_provider_aws.apigatewayv2_route import Apigatewayv2Route
from cdktf_cdktf_provider_aws.apigatewayv2_stage import (
    Apigatewayv2Stage,
    Apigatewayv2StageAccessLogSettings,
    Apigatewayv2StageDefaultRouteSettings,
)
from constructs import Construct

from handlers.api.gateway_answers import EXPOSED_HEADERS, SIGV4_HEADERS
from modules.api_common import (
    HTTP_ACCESS_LOG_FIELDS,
    PUBLIC_ROUTES,
    ROUTES,
    ApiInputs,
    ApiOutputs,
    access_log_format,
    allow_invoke,
    build_access_logs,
    path_id,
    route_throttle,
)

# The route API Gateway uses when no other route matches ("Working with routes for HTTP APIs").
DEFAULT_ROUTE_KEY = "$default"


class HttpApi(Construct):
    """The HTTP API in front of the api function's `live` alias."""

    def __init__(self, scope: Construct, id_: str, inputs: ApiInputs) -> None:
        super().__init__(scope, id_)
        settings = inputs.settings
        origins = list(settings.app.allowed_origins) or ["*"]
        # With CORS configured, API Gateway answers preflights itself and replaces the CORS
        # headers of the function's responses with these (AWS "Configuring CORS for an HTTP
        # API"): the headers a SigV4-signed request carries must be allowed, and the headers
        # the function sets for clients must be exposed here.
        self.api = Apigatewayv2Api(
            self, "http_api", name=settings.name("api"), protocol_type="HTTP",
            cors_configuration=Apigatewayv2ApiCorsConfiguration(
                allow_origins=origins, allow_methods=sorted({m for m, _ in ROUTES} | {"OPTIONS"}),
                allow_headers=["content-type", "idempotency-key", "authorization", *SIGV4_HEADERS],
                expose_headers=list(EXPOSED_HEADERS), max_age=3600))
        integration = Apigatewayv2Integration(
            self, "integration", api_id=self.api.id, integration_type="AWS_PROXY",
            integration_uri=inputs.api_function.alias.invoke_arn, integration_method="POST",
            payload_format_version="1.0")
        for method, path in ROUTES:
            id_ = f"{method.lower()}_{path_id(path)}"
            # HTTP APIs have no API keys: callers of every route but /health sign with SigV4.
            Apigatewayv2Route(self, f"route_{id_}", api_id=self.api.id, route_key=f"{method} {path}",
                              target=f"integrations/{integration.id}",
                              authorization_type="NONE" if (method, path) in PUBLIC_ROUTES else "AWS_IAM")
        # Any other method and path reaches the function too (signed), which answers 404 or 405
        # in the product's error shape instead of the gateway's {"message": "Not Found"}.
        Apigatewayv2Route(self, "route_default", api_id=self.api.id, route_key=DEFAULT_ROUTE_KEY,
                          target=f"integrations/{integration.id}", authorization_type="AWS_IAM")
        log_group = build_access_logs(self, inputs)
        self.stage = Apigatewayv2Stage(
            self, "stage", api_id=self.api.id, name="$default", auto_deploy=True,
            access_log_settings=Apigatewayv2StageAccessLogSettings(
                destination_arn=log_group.arn, format=access_log_format(HTTP_ACCESS_LOG_FIELDS)),
            # Each route has its own bucket: the API's throttle is split over them.
            default_route_settings=Apigatewayv2StageDefaultRouteSettings(
                throttling_burst_limit=route_throttle(settings, extra_routes=1)[1],
                throttling_rate_limit=route_throttle(settings, extra_routes=1)[0],
                detailed_metrics_enabled=True))
        self.outputs = ApiOutputs(api_id=self.api.id, url=self.stage.invoke_url,
                                  metric_dimensions={"ApiId": self.api.id, "Stage": "$default"},
                                  metric_names={"5xx": "5xx", "4xx": "4xx", "latency": "Latency"})
        allow_invoke(self, inputs.api_function, self.api.execution_arn)
        if settings.api.domain_name and settings.api.certificate_arn:
            self._build_domain(settings.api.domain_name, settings.api.certificate_arn)

    def _build_domain(self, domain_name: str, certificate_arn: str) -> None:
        # Regional endpoint with TLS 1.2, like the REST kind's domain; the API mapping
        # serves the `$default` stage at the domain's root.
        domain = Apigatewayv2DomainName(
            self, "domain", domain_name=domain_name,
            domain_name_configuration=Apigatewayv2DomainNameDomainNameConfiguration(
                certificate_arn=certificate_arn, endpoint_type="REGIONAL", security_policy="TLS_1_2"))
        Apigatewayv2ApiMapping(self, "api_mapping", api_id=self.api.id, domain_name=domain.id,
                               stage=self.stage.id)
