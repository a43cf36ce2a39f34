"""API layer: REST API (default) and the HTTP API variant, against the handler's routes."""

from __future__ import annotations

import json

import pytest

from handlers.api.routes_table import PUBLIC_ROUTES, REQUEST_SCHEMAS, ROUTES
from modules.config import WORKSPACES
from tests.infra.test_app import ref


def rest(synth, workspace, rtype, path):
    return synth.resource(f"{workspace}-app", rtype, f"gateway/{path}")


def gateway_routes(synth, workspace="dev"):
    """(method, path) of every non-OPTIONS method, with its path rebuilt from the resource tree."""
    stack = f"{workspace}-app"
    resources = synth.resources(stack, "aws_api_gateway_resource")
    by_ref = {ref(synth, stack, "aws_api_gateway_resource", p, "id"): r for p, r in resources.items()}
    root = ref(synth, stack, "aws_api_gateway_rest_api", "gateway/rest_api", "root_resource_id")

    def full_path(resource_ref):
        parts = []
        while resource_ref != root:
            resource = by_ref[resource_ref]
            parts.append(resource["path_part"])
            resource_ref = resource["parent_id"]
        return "/" + "/".join(reversed(parts))

    return {(m["http_method"], full_path(m["resource_id"])): m
            for m in synth.resources(stack, "aws_api_gateway_method").values() if m["http_method"] != "OPTIONS"}


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_gateway_routes_equal_handler_routes(synth, workspace):
    assert set(gateway_routes(synth, workspace)) == set(ROUTES)


def test_http_api_routes_equal_handler_routes(synth_http):
    routes = synth_http.resources("dev-app", "aws_apigatewayv2_route")
    keys = {tuple(r["route_key"].split(" ", 1)) for r in routes.values()}
    assert keys == set(ROUTES)


def test_api_key_required_everywhere_but_health(synth):
    for route, method in gateway_routes(synth).items():
        assert method["api_key_required"] is (route not in PUBLIC_ROUTES), route
        assert method["request_validator_id"]
    assert {("GET", "/health")} == PUBLIC_ROUTES


def test_every_route_is_a_proxy_to_the_live_alias(synth):
    alias_invoke_arn = ref(synth, "dev-app", "aws_lambda_alias", "api/alias", "invoke_arn")
    integrations = [i for i in synth.resources("dev-app", "aws_api_gateway_integration").values()
                    if i["type"] != "MOCK"]
    assert len(integrations) == len(ROUTES)
    for integration in integrations:
        assert (integration["type"], integration["integration_http_method"]) == ("AWS_PROXY", "POST")
        assert integration["uri"] == alias_invoke_arn


def test_request_models_from_handler_schemas(synth):
    models = {m["name"]: json.loads(m["schema"]) for m in synth.resources("dev-app", "aws_api_gateway_model").values()}
    assert {json.dumps(s, sort_keys=True) for s in models.values()} == {
        json.dumps(s, sort_keys=True) for s in REQUEST_SCHEMAS.values()}
    routes = gateway_routes(synth)
    for route, schema in REQUEST_SCHEMAS.items():
        model_ref = ref(synth, "dev-app", "aws_api_gateway_model", f"gateway/model_{schema['title']}", "name")
        assert routes[route]["request_models"] == {"application/json": model_ref}
    validator = rest(synth, "dev", "aws_api_gateway_request_validator", "validator")
    assert validator["validate_request_body"] is True


def test_cors_preflight_on_every_resource(synth):
    paths = {p for _m, p in ROUTES}
    options = [m for m in synth.resources("dev-app", "aws_api_gateway_method").values()
               if m["http_method"] == "OPTIONS"]
    assert len(options) == len(paths)
    responses = synth.resources("dev-app", "aws_api_gateway_integration_response")
    assert len(responses) == len(paths)
    for response in responses.values():
        params = response["response_parameters"]
        assert "OPTIONS" in params["method.response.header.Access-Control-Allow-Methods"]


def test_gateway_errors_use_the_json_error_shape_with_cors(synth):
    responses = {r["response_type"]: r for r in synth.resources("dev-app", "aws_api_gateway_gateway_response").values()}
    assert {"DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for response in responses.values():
        template = response["response_templates"]["application/json"]
        assert '"error":{"code":' in template and '"request_id":"$context.requestId"' in template
        assert "gatewayresponse.header.Access-Control-Allow-Origin" in response["response_parameters"]


def test_deployment_redeploys_on_any_change(synth):
    deployment = rest(synth, "dev", "aws_api_gateway_deployment", "deployment")
    assert deployment["lifecycle"]["create_before_destroy"] is True
    trigger = deployment["triggers"]["redeployment"]
    assert trigger.startswith("${sha1(jsonencode([")
    assert "aws_api_gateway_method." in trigger and "aws_api_gateway_integration." in trigger


@pytest.mark.parametrize(("workspace", "level", "trace", "cache"), [
    ("dev", "INFO", True, False), ("staging", "INFO", False, False), ("prod", "ERROR", False, True)])
def test_stage_logging_tracing_and_method_settings(synth, workspace, level, trace, cache):
    stage = rest(synth, workspace, "aws_api_gateway_stage", "stage")
    assert stage["stage_name"] == workspace
    assert stage["xray_tracing_enabled"] is True
    assert stage["cache_cluster_enabled"] is cache
    access_format = json.loads(stage["access_log_settings"]["format"])
    assert {"requestId", "sourceIp", "caller", "user", "requestTime", "httpMethod", "resourcePath", "status",
            "protocol", "responseLength", "integrationError"} <= set(access_format)
    group = rest(synth, workspace, "aws_cloudwatch_log_group", "access_log_group")
    assert group["kms_key_id"] and group["retention_in_days"] == {"dev": 7, "staging": 30, "prod": 90}[workspace]
    settings = rest(synth, workspace, "aws_api_gateway_method_settings", "method_settings")["settings"]
    assert settings["metrics_enabled"] is True
    assert settings["logging_level"] == level
    assert settings["data_trace_enabled"] is trace
    assert settings["throttling_burst_limit"] > 0 and settings["throttling_rate_limit"] > 0


def test_usage_plan_and_key(synth):
    plan = rest(synth, "prod", "aws_api_gateway_usage_plan", "usage_plan")
    assert plan["quota_settings"] == {"limit": 1_000_000, "period": "MONTH"}
    assert plan["throttle_settings"] == {"burst_limit": 5000, "rate_limit": 10000}
    key = rest(synth, "prod", "aws_api_gateway_usage_plan_key", "usage_plan_key")
    assert key["key_type"] == "API_KEY"


def test_invoke_permission_scoped_to_this_api_and_alias(synth):
    permission = rest(synth, "dev", "aws_lambda_permission", "invoke_permission")
    assert permission["principal"] == "apigateway.amazonaws.com"
    api_arn = ref(synth, "dev-app", "aws_api_gateway_rest_api", "gateway/rest_api", "execution_arn")
    assert permission["source_arn"] == f"{api_arn}/*"
    assert permission["qualifier"] == ref(synth, "dev-app", "aws_lambda_alias", "api/alias", "name")


def test_access_logs_archived_through_firehose(synth):
    stream = rest(synth, "dev", "aws_kinesis_firehose_delivery_stream", "access_log_archive/stream")
    s3 = stream["extended_s3_configuration"]
    assert s3["prefix"] == "api-access/!{timestamp:yyyy/MM/dd}/"
    assert s3["kms_key_arn"] and stream["server_side_encryption"]["key_type"] == "CUSTOMER_MANAGED_CMK"
    subscription = rest(synth, "dev", "aws_cloudwatch_log_subscription_filter", "access_log_archive/subscription")
    assert subscription["destination_arn"] == ref(synth, "dev-app", "aws_kinesis_firehose_delivery_stream",
                                                  "gateway/access_log_archive/stream", "arn")
    policy = json.loads(rest(synth, "dev", "aws_iam_role_policy", "access_log_archive/logs_policy")["policy"])
    assert policy["Statement"][0]["Action"] == ["firehose:PutRecord", "firehose:PutRecordBatch"]


def test_waf_and_account_role_only_where_switched_on(synth):
    for workspace in ("local", "dev", "staging"):
        assert synth.count(f"{workspace}-app", "aws_wafv2_web_acl") == 0
        assert synth.count(f"{workspace}-app", "aws_api_gateway_account") == 0
    acl = rest(synth, "prod", "aws_wafv2_web_acl", "waf/web_acl")
    names = [r["statement"].get("managed_rule_group_statement", {}).get("name") for r in acl["rule"]]
    assert "AWSManagedRulesCommonRuleSet" in names
    assert any("rate_based_statement" in r["statement"] for r in acl["rule"])
    association = rest(synth, "prod", "aws_wafv2_web_acl_association", "waf/association")
    assert association["resource_arn"] == ref(synth, "prod-app", "aws_api_gateway_stage", "gateway/stage", "arn")
    assert synth.count("prod-app", "aws_api_gateway_account") == 1


def test_custom_domain_when_configured(tmp_path):
    from tests.infra.conftest import synth_into

    domain = synth_into(tmp_path, {"WORKSPACES": "dev", "API_DOMAIN_NAME": "api.example.com",
                                   "API_CERTIFICATE_ARN": "arn:aws:acm:us-west-2:123456789012:certificate/"
                                                          "12345678-1234-1234-1234-123456789012"})
    name = domain.resource("dev-app", "aws_api_gateway_domain_name", "gateway/domain")
    assert name["security_policy"] == "TLS_1_2" and name["endpoint_configuration"]["types"] == ["REGIONAL"]
    assert domain.count("dev-app", "aws_api_gateway_base_path_mapping") == 1


def test_http_variant(synth_http):
    api = synth_http.resource("dev-app", "aws_apigatewayv2_api", "gateway/http_api")
    assert api["protocol_type"] == "HTTP" and api["cors_configuration"]["allow_origins"]
    integration = synth_http.resource("dev-app", "aws_apigatewayv2_integration", "gateway/integration")
    assert integration["payload_format_version"] == "1.0"
    assert integration["integration_uri"] == ref(synth_http, "dev-app", "aws_lambda_alias", "api/alias", "invoke_arn")
    stage = synth_http.resource("dev-app", "aws_apigatewayv2_stage", "gateway/stage")
    assert stage["name"] == "$default" and stage["auto_deploy"] is True
    assert "requestId" in json.loads(stage["access_log_settings"]["format"])
    assert stage["default_route_settings"]["throttling_burst_limit"] == 500
    for route in synth_http.resources("dev-app", "aws_apigatewayv2_route").values():
        public = route["route_key"] == "GET /health"
        assert route["authorization_type"] == ("NONE" if public else "AWS_IAM")
    permission = synth_http.resource("dev-app", "aws_lambda_permission", "gateway/invoke_permission")
    assert permission["source_arn"] == ref(synth_http, "dev-app", "aws_apigatewayv2_api", "gateway/http_api",
                                           "execution_arn") + "/*"
    assert synth_http.count("dev-app", "aws_api_gateway_rest_api") == 0
