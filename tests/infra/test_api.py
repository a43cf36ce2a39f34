"""API layer: REST API (default) and the HTTP API variant, against the handler's routes."""

from __future__ import annotations

import json
import re

import pytest

from handlers.api.routes_table import PUBLIC_ROUTES, REQUEST_SCHEMAS, ROUTES
from handlers.shared.error_response import error_body
from modules.api_common import HTTP_ACCESS_LOG_FIELDS, REST_ACCESS_LOG_FIELDS
from modules.api_rest import (
    CORS_HEADERS,
    CORS_METHODS,
    GATEWAY_ERROR_HEADERS,
    GATEWAY_ERRORS,
    definition_digest,
    error_template,
)
from modules.config import WORKSPACES
from tests.infra.conftest import SETTINGS, synth_into
from tests.infra.synthesized import ref, remote_ref, security_key_ref

KINDS = ("synth", "synth_http")
CERTIFICATE = "arn:aws:acm:us-west-2:123456789012:certificate/12345678-1234-1234-1234-123456789012"


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


def options_parts(synth, workspace):
    """Per resource path: its OPTIONS method, integration, method response and integration response."""
    stack = f"{workspace}-app"
    return {rtype: {p: r for p, r in synth.resources(stack, rtype).items() if "/options_" in p}
            for rtype in ("aws_api_gateway_method", "aws_api_gateway_integration", "aws_api_gateway_method_response",
                          "aws_api_gateway_integration_response")}


# ---- HTTP API variant ----------------------------------------------------------------


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_http_api_routes_equal_handler_routes(synth_http, workspace):
    routes = synth_http.resources(f"{workspace}-app", "aws_apigatewayv2_route")
    keys = [tuple(r["route_key"].split(" ", 1)) for r in routes.values()]
    # the contract's routes, and $default, which takes any other path to the function's 404
    assert len(keys) == len(set(keys)) and set(keys) == {*ROUTES, ("$default",)}


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_http_variant(synth_http, workspace):
    stack, settings = f"{workspace}-app", SETTINGS[workspace]
    api = synth_http.resource(stack, "aws_apigatewayv2_api", "gateway/http_api")
    assert api["protocol_type"] == "HTTP" and api["cors_configuration"]["allow_origins"] == ["*"]
    assert "OPTIONS" in api["cors_configuration"]["allow_methods"]
    integration = synth_http.resource(stack, "aws_apigatewayv2_integration", "gateway/integration")
    assert integration["payload_format_version"] == "1.0" and integration["integration_type"] == "AWS_PROXY"
    assert integration["integration_uri"] == ref(synth_http, stack, "aws_lambda_alias", "api/alias", "invoke_arn")
    stage = synth_http.resource(stack, "aws_apigatewayv2_stage", "gateway/stage")
    assert stage["name"] == "$default" and stage["auto_deploy"] is True
    route_settings = stage["default_route_settings"]
    # The API's throttle split over its routes, $default included (each route has its own bucket).
    routes = len(ROUTES) + 1
    assert route_settings["throttling_rate_limit"] * routes == pytest.approx(settings.api.throttle_rate_limit)
    assert route_settings["throttling_burst_limit"] == settings.api.throttle_burst_limit // routes
    # CORS lets browsers send SigV4 requests and read Location and Retry-After.
    assert {"x-amz-date", "x-amz-security-token", "x-amz-content-sha256"} <= set(
        api["cors_configuration"]["allow_headers"])
    assert api["cors_configuration"]["expose_headers"] == ["Location", "Retry-After"]
    integration_ref = ref(synth_http, stack, "aws_apigatewayv2_integration", "gateway/integration", "id")
    for route in synth_http.resources(stack, "aws_apigatewayv2_route").values():
        public = route["route_key"] == "GET /health"
        assert route["authorization_type"] == ("NONE" if public else "AWS_IAM")
        assert route["target"] == f"integrations/{integration_ref}"
    permission = synth_http.resource(stack, "aws_lambda_permission", "gateway/invoke_permission")
    assert permission["source_arn"] == ref(synth_http, stack, "aws_apigatewayv2_api", "gateway/http_api",
                                           "execution_arn") + "/*"
    assert permission["qualifier"] == ref(synth_http, stack, "aws_lambda_alias", "api/alias", "name")
    assert synth_http.count(stack, "aws_api_gateway_rest_api") == 0


# Variables API Gateway documents for HTTP API access logs ("Customize HTTP API access logs").
HTTP_API_LOG_VARIABLES = {
    "$context.requestId", "$context.identity.sourceIp", "$context.identity.caller", "$context.identity.user",
    "$context.requestTime", "$context.httpMethod", "$context.routeKey", "$context.path", "$context.status",
    "$context.protocol", "$context.responseLength", "$context.integrationErrorMessage",
    "$context.integration.error", "$context.identity.userAgent",
}


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_http_access_logs_use_http_variables_and_the_cmk(synth_http, workspace):
    stack = f"{workspace}-app"
    stage = synth_http.resource(stack, "aws_apigatewayv2_stage", "gateway/stage")
    access_format = json.loads(stage["access_log_settings"]["format"])
    assert access_format == HTTP_ACCESS_LOG_FIELDS
    assert set(access_format.values()) <= HTTP_API_LOG_VARIABLES  # apiKeyId is REST-only
    assert set(access_format) == set(REST_ACCESS_LOG_FIELDS) - {"apiKeyId"}
    group = synth_http.resource(stack, "aws_cloudwatch_log_group", "gateway/access_log_group")
    assert stage["access_log_settings"]["destination_arn"] == ref(
        synth_http, stack, "aws_cloudwatch_log_group", "gateway/access_log_group", "arn")
    assert group["kms_key_id"] == security_key_ref(synth_http, workspace)
    assert group["retention_in_days"] == SETTINGS[workspace].log_retention_days


def test_http_kind_custom_domain_when_configured(tmp_path):
    domain = synth_into(tmp_path, {"WORKSPACES": "dev", "API_KIND": "http", "API_DOMAIN_NAME": "api.example.com",
                                   "API_CERTIFICATE_ARN": CERTIFICATE})
    name = domain.resource("dev-app", "aws_apigatewayv2_domain_name", "gateway/domain")
    assert name["domain_name"] == "api.example.com"
    assert name["domain_name_configuration"] == {"certificate_arn": CERTIFICATE, "endpoint_type": "REGIONAL",
                                                 "security_policy": "TLS_1_2"}
    mapping = domain.resource("dev-app", "aws_apigatewayv2_api_mapping", "gateway/api_mapping")
    assert mapping["api_id"] == ref(domain, "dev-app", "aws_apigatewayv2_api", "gateway/http_api", "id")
    assert mapping["domain_name"] == ref(domain, "dev-app", "aws_apigatewayv2_domain_name", "gateway/domain", "id")
    assert mapping["stage"] == ref(domain, "dev-app", "aws_apigatewayv2_stage", "gateway/stage", "id")


def test_http_kind_has_no_waf_or_account_role_even_where_switched_on(synth_http):
    # prod switches WAF on; HTTP APIs cannot be associated with WAF and do not use the
    # account-level CloudWatch role (decision documented in modules/api_http.py).
    assert SETTINGS["prod"].api.waf_enabled
    for workspace in WORKSPACES:
        assert synth_http.count(f"{workspace}-app", "aws_wafv2_web_acl") == 0
        assert synth_http.count(f"{workspace}-app", "aws_api_gateway_account") == 0
        assert "aws_iam_roles" not in synth_http.stack(f"{workspace}-app").get("data", {})
    assert synth_http.count("dev-app", "aws_apigatewayv2_domain_name") == 0  # no domain unless configured


# ---- REST API ----------------------------------------------------------------------


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_api_key_required_everywhere_but_health(synth, workspace):
    validator = ref(synth, f"{workspace}-app", "aws_api_gateway_request_validator", "gateway/validator", "id")
    for route, method in gateway_routes(synth, workspace).items():
        assert method["api_key_required"] is (route not in PUBLIC_ROUTES), route
        assert method["request_validator_id"] == validator
    assert {("GET", "/health")} == PUBLIC_ROUTES


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_every_route_is_a_proxy_to_the_live_alias(synth, workspace):
    stack = f"{workspace}-app"
    alias_invoke_arn = ref(synth, stack, "aws_lambda_alias", "api/alias", "invoke_arn")
    integrations = [i for i in synth.resources(stack, "aws_api_gateway_integration").values() if i["type"] != "MOCK"]
    assert len(integrations) == len(ROUTES)
    for integration in integrations:
        assert (integration["type"], integration["integration_http_method"]) == ("AWS_PROXY", "POST")
        assert integration["uri"] == alias_invoke_arn


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_request_models_from_handler_schemas(synth, workspace):
    stack = f"{workspace}-app"
    models = {m["name"]: json.loads(m["schema"]) for m in synth.resources(stack, "aws_api_gateway_model").values()}
    assert {json.dumps(s, sort_keys=True) for s in models.values()} == {
        json.dumps(s, sort_keys=True) for s in REQUEST_SCHEMAS.values()}
    routes = gateway_routes(synth, workspace)
    for route, schema in REQUEST_SCHEMAS.items():
        model_ref = ref(synth, stack, "aws_api_gateway_model", f"gateway/model_{schema['title']}", "name")
        assert routes[route]["request_models"] == {"application/json": model_ref}
    for route in set(ROUTES) - set(REQUEST_SCHEMAS):
        assert "request_models" not in routes[route], route
    validator = rest(synth, workspace, "aws_api_gateway_request_validator", "validator")
    assert validator["validate_request_body"] is True and validator["validate_request_parameters"] is True


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_cors_preflight_on_every_resource(synth, workspace):
    paths = {p for _m, p in ROUTES}
    parts = options_parts(synth, workspace)
    assert len(parts["aws_api_gateway_method"]) == len(paths)
    assert {m["authorization"] for m in parts["aws_api_gateway_method"].values()} == {"NONE"}
    assert {i["type"] for i in parts["aws_api_gateway_integration"].values()} == {"MOCK"}
    headers = {"Access-Control-Allow-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Origin"}
    assert len(parts["aws_api_gateway_method_response"]) == len(paths)
    for response in parts["aws_api_gateway_method_response"].values():
        assert response["status_code"] == "200"
        assert response["response_parameters"] == {f"method.response.header.{h}": True for h in headers}
    responses = parts["aws_api_gateway_integration_response"]
    assert len(responses) == len(paths) == len(synth.resources(f"{workspace}-app",
                                                               "aws_api_gateway_integration_response"))
    for response in responses.values():
        assert response["response_parameters"] == {
            "method.response.header.Access-Control-Allow-Origin": "'*'",  # no ALLOWED_ORIGINS configured
            "method.response.header.Access-Control-Allow-Headers": CORS_HEADERS,
            "method.response.header.Access-Control-Allow-Methods": CORS_METHODS,
        }
    allowed_methods = set(CORS_METHODS.strip("'").split(","))
    assert allowed_methods == {m for m, _p in ROUTES} | {"OPTIONS"}
    assert {"Content-Type", "Idempotency-Key", "X-Api-Key"} <= set(CORS_HEADERS.strip("'").split(","))


def render_like_api_gateway(template, message, request_id="c0ffee00-1234-5678-9abc-def012345678"):
    """Substitute the variables the way API Gateway does: messageString arrives already
    JSON-quoted, everything else raw (so a raw variable holding quotes breaks the JSON)."""
    return (template.replace("$context.error.messageString", json.dumps(message))
            .replace("$context.error.validationErrorString", message)
            .replace("$context.error.message", message)
            .replace("$context.requestId", request_id))


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_gateway_errors_use_the_json_error_shape_with_cors(synth, workspace):
    responses = {r["response_type"]: r
                 for r in synth.resources(f"{workspace}-app", "aws_api_gateway_gateway_response").values()}
    assert {"DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses) == set(GATEWAY_ERRORS)
    hostile = 'Invalid "key" \\ value: [object has missing required properties (["name"])]'
    for response_type, response in responses.items():
        status, code, _message = GATEWAY_ERRORS[response_type]
        assert response.get("status_code") == status
        template = response["response_templates"]["application/json"]
        assert set(re.findall(r"\$context\.[A-Za-z.]+", template)) <= {"$context.requestId",
                                                                        "$context.error.messageString"}
        body = json.loads(render_like_api_gateway(template, hostile))
        assert body.keys() == error_body("c", "m", "r").keys()
        assert body["error"].keys() == error_body("c", "m", "r")["error"].keys()
        assert body["error"]["code"] == code and body["error"]["request_id"].startswith("c0ffee00")
        assert response["response_parameters"] == {
            "gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
            "gatewayresponse.header.Access-Control-Allow-Headers": CORS_HEADERS,
            **{f"gatewayresponse.header.{h}": v for h, v in GATEWAY_ERROR_HEADERS.get(response_type, {}).items()}}
    # The gateway's own message (which may hold quotes) reaches the client intact.
    assert json.loads(render_like_api_gateway(responses["DEFAULT_4XX"]["response_templates"]["application/json"],
                                              hostile))["error"]["message"] == hostile


def test_error_template_quotes_literal_text():
    assert json.loads(error_template("x", 'say "hi"').replace("$context.requestId", "r")) == error_body(
        "x", 'say "hi"', "r")


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_deployment_redeploys_on_any_change(synth, workspace):
    stack = f"{workspace}-app"
    deployment = rest(synth, workspace, "aws_api_gateway_deployment", "deployment")
    assert deployment["lifecycle"]["create_before_destroy"] is True
    trigger = deployment["triggers"]["redeployment"]
    assert trigger.startswith("${sha1(jsonencode([")
    # Every value the definition is generated from (CORS origins included) ...
    assert definition_digest(SETTINGS[workspace]) in trigger
    # ... and every resource that defines the API.
    defining = ("aws_api_gateway_resource", "aws_api_gateway_method", "aws_api_gateway_integration",
                "aws_api_gateway_method_response", "aws_api_gateway_integration_response",
                "aws_api_gateway_gateway_response", "aws_api_gateway_model", "aws_api_gateway_request_validator")
    for rtype in defining:
        found = synth.resources(stack, rtype)
        assert found, rtype
        for path in found:
            assert ref(synth, stack, rtype, path, "id").strip("${}") in trigger, path


def test_definition_digest_covers_cors_origins_and_api_settings():
    dev = SETTINGS["dev"]
    with_origin = dev.model_copy(update={"app": dev.app.model_copy(update={"allowed_origins": ("https://a.test",)})})
    other_origin = dev.model_copy(update={"app": dev.app.model_copy(update={"allowed_origins": ("https://b.test",)})})
    throttled = dev.model_copy(update={"api": dev.api.model_copy(update={"throttle_burst_limit": 1})})
    digests = {definition_digest(s) for s in (dev, with_origin, other_origin, throttled)}
    assert len(digests) == 4
    assert definition_digest(dev) == definition_digest(SETTINGS["dev"])  # deterministic


@pytest.mark.parametrize(("workspace", "level", "trace", "cache"), [
    ("local", "INFO", True, False), ("dev", "INFO", True, False), ("staging", "INFO", False, False),
    ("prod", "ERROR", False, False)])
def test_stage_logging_tracing_and_method_settings(synth, workspace, level, trace, cache):
    stage = rest(synth, workspace, "aws_api_gateway_stage", "stage")
    assert stage["stage_name"] == workspace
    assert stage["xray_tracing_enabled"] is True
    assert stage["cache_cluster_enabled"] is cache
    access_format = json.loads(stage["access_log_settings"]["format"])
    assert {"requestId", "sourceIp", "caller", "user", "requestTime", "httpMethod", "resourcePath", "status",
            "protocol", "responseLength", "integrationError"} <= set(access_format)
    group = rest(synth, workspace, "aws_cloudwatch_log_group", "access_log_group")
    assert group["kms_key_id"] == security_key_ref(synth, workspace)
    assert group["retention_in_days"] == {"local": 7, "dev": 7, "staging": 30, "prod": 90}[workspace]
    settings = rest(synth, workspace, "aws_api_gateway_method_settings", "method_settings")["settings"]
    assert settings["metrics_enabled"] is True
    assert settings["logging_level"] == level
    assert settings["data_trace_enabled"] is trace
    assert settings["throttling_burst_limit"] > 0 and settings["throttling_rate_limit"] > 0


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_usage_plan_and_key(synth, workspace):
    stack, api = f"{workspace}-app", SETTINGS[workspace].api
    plan = rest(synth, workspace, "aws_api_gateway_usage_plan", "usage_plan")
    assert "quota_settings" not in plan and api.quota_per_month is None  # no quota by default
    assert plan["throttle_settings"] == {"burst_limit": api.client_burst_limit, "rate_limit": api.client_rate_limit}
    assert plan["api_stages"] == [{"api_id": ref(synth, stack, "aws_api_gateway_rest_api", "gateway/rest_api", "id"),
                                   "stage": ref(synth, stack, "aws_api_gateway_stage", "gateway/stage",
                                                "stage_name")}]
    key = rest(synth, workspace, "aws_api_gateway_api_key", "api_key")
    assert key["enabled"] is True and key["name"] == f"serverless-app-{workspace}-api-key"
    link = rest(synth, workspace, "aws_api_gateway_usage_plan_key", "usage_plan_key")
    assert link["key_type"] == "API_KEY"
    assert link["key_id"] == ref(synth, stack, "aws_api_gateway_api_key", "gateway/api_key", "id")
    assert link["usage_plan_id"] == ref(synth, stack, "aws_api_gateway_usage_plan", "gateway/usage_plan", "id")


@pytest.mark.parametrize(("kind", "api_type", "api_path"), [
    ("synth", "aws_api_gateway_rest_api", "gateway/rest_api"),
    ("synth_http", "aws_apigatewayv2_api", "gateway/http_api")])
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_invoke_permission_scoped_to_this_api_and_alias(request, workspace, kind, api_type, api_path):
    synth = request.getfixturevalue(kind)
    stack = f"{workspace}-app"
    permission = synth.resource(stack, "aws_lambda_permission", "gateway/invoke_permission")
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["source_arn"] == f"{ref(synth, stack, api_type, api_path, 'execution_arn')}/*"
    assert permission["qualifier"] == ref(synth, stack, "aws_lambda_alias", "api/alias", "name")
    assert permission["function_name"] == ref(synth, stack, "aws_lambda_function", "api/function", "function_name")


def archive(synth, workspace, path):
    rtype, part = path
    return synth.resource(f"{workspace}-app", rtype, f"gateway/access_log_archive/{part}")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_access_logs_archived_through_firehose(request, kind, workspace):
    synth = request.getfixturevalue(kind)
    stack = f"{workspace}-app"
    stream = archive(synth, workspace, ("aws_kinesis_firehose_delivery_stream", "stream"))
    assert stream["name"] == f"serverless-app-{workspace}-api-access-archive"
    s3 = stream["extended_s3_configuration"]
    assert s3["prefix"] == "api-access/!{timestamp:yyyy/MM/dd}/"
    assert s3["error_output_prefix"] == "api-access-errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/"
    assert s3["bucket_arn"] == remote_ref(synth, workspace, "data", "aws_s3_bucket", "data/log_bucket/bucket", "arn")
    assert s3["kms_key_arn"] == security_key_ref(synth, workspace)
    assert stream["server_side_encryption"] == {"enabled": True, "key_type": "CUSTOMER_MANAGED_CMK",
                                                "key_arn": security_key_ref(synth, workspace)}
    subscription = archive(synth, workspace, ("aws_cloudwatch_log_subscription_filter", "subscription"))
    assert subscription["log_group_name"] == ref(synth, stack, "aws_cloudwatch_log_group",
                                                 "gateway/access_log_group", "name")
    assert subscription["destination_arn"] == ref(synth, stack, "aws_kinesis_firehose_delivery_stream",
                                                  "gateway/access_log_archive/stream", "arn")
    assert subscription["role_arn"] == ref(synth, stack, "aws_iam_role", "gateway/access_log_archive/logs_role", "arn")
    logs_policy = json.loads(archive(synth, workspace, ("aws_iam_role_policy", "logs_policy"))["policy"])
    assert logs_policy["Statement"] == [{
        "Sid": "Deliver", "Effect": "Allow", "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
        "Resource": [ref(synth, stack, "aws_kinesis_firehose_delivery_stream", "gateway/access_log_archive/stream",
                         "arn")]}]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_firehose_role_policy_is_scoped_to_the_archive_prefixes_and_key(request, kind, workspace):
    synth = request.getfixturevalue(kind)
    bucket = remote_ref(synth, workspace, "data", "aws_s3_bucket", "data/log_bucket/bucket", "arn")
    stream = archive(synth, workspace, ("aws_kinesis_firehose_delivery_stream", "stream"))
    data_prefix = stream["extended_s3_configuration"]["prefix"].split("!", 1)[0]
    error_prefix = stream["extended_s3_configuration"]["error_output_prefix"].split("!", 1)[0]
    policy = archive(synth, workspace, ("aws_iam_role_policy", "firehose_policy"))
    assert policy["role"] == ref(synth, f"{workspace}-app", "aws_iam_role", "gateway/access_log_archive/firehose_role",
                                 "id")
    statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    assert set(statements) == {"Bucket", "Objects", "EncryptArchive"}  # no logs: Firehose error logging is off
    assert statements["Bucket"]["Resource"] == [bucket]
    assert statements["Bucket"]["Action"] == ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:ListBucket",
                                              "s3:ListBucketMultipartUploads"]
    # Exactly the prefixes Firehose writes to: delivered records and failed records.
    assert statements["Objects"]["Resource"] == [f"{bucket}/{data_prefix}*", f"{bucket}/{error_prefix}*"]
    assert statements["Objects"]["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert statements["EncryptArchive"]["Resource"] == [security_key_ref(synth, workspace)]
    assert statements["EncryptArchive"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert all(s["Effect"] == "Allow" and "*" not in s["Action"] for s in statements.values())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_archive_trust_policies_are_bound_to_this_account_and_source(request, kind, workspace):
    synth = request.getfixturevalue(kind)
    stack = synth.stack(f"{workspace}-app")
    (caller,) = [k for k in stack["data"]["aws_caller_identity"] if "access_log_archive" in k]
    (partition,) = [k for k in stack["data"]["aws_partition"] if "access_log_archive" in k]
    account = f"${{data.aws_caller_identity.{caller}.account_id}}"
    arn_prefix = f"arn:${{data.aws_partition.{partition}.partition}}"
    # Firehose: bound to this account through the external id its documentation uses.
    # CloudWatch Logs: to this account and its log groups.
    expected = {
        "firehose_role": ("firehose.amazonaws.com", {"StringEquals": {"sts:ExternalId": account}}),
        "logs_role": ("logs.us-west-2.amazonaws.com", {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": f"{arn_prefix}:logs:us-west-2:{account}:*"}}),
    }
    for role_name, (service, condition) in expected.items():
        trust = json.loads(archive(synth, workspace, ("aws_iam_role", role_name))["assume_role_policy"])
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {"Service": service} and statement["Action"] == "sts:AssumeRole"
        assert statement["Effect"] == "Allow" and statement["Condition"] == condition, role_name


def test_waf_only_where_switched_on_and_the_account_role_only_in_bootstrap(synth):
    for workspace in ("local", "dev", "staging"):
        assert synth.count(f"{workspace}-app", "aws_wafv2_web_acl") == 0
    for workspace in WORKSPACES:  # one account setting per account and region: bootstrap's
        assert synth.count(f"{workspace}-app", "aws_api_gateway_account") == 0
    assert synth.count("bootstrap", "aws_api_gateway_account") == 1
    acl = rest(synth, "prod", "aws_wafv2_web_acl", "waf/web_acl")
    names = [r["statement"].get("managed_rule_group_statement", {}).get("name") for r in acl["rule"]]
    assert "AWSManagedRulesCommonRuleSet" in names
    assert any("rate_based_statement" in r["statement"] for r in acl["rule"])
    association = rest(synth, "prod", "aws_wafv2_web_acl_association", "waf/association")
    assert association["resource_arn"] == ref(synth, "prod-app", "aws_api_gateway_stage", "gateway/stage", "arn")


def test_custom_domain_when_configured(tmp_path):
    domain = synth_into(tmp_path, {"WORKSPACES": "dev", "API_DOMAIN_NAME": "api.example.com",
                                   "API_CERTIFICATE_ARN": CERTIFICATE})
    name = domain.resource("dev-app", "aws_api_gateway_domain_name", "gateway/domain")
    assert name["security_policy"] == "TLS_1_2" and name["endpoint_configuration"]["types"] == ["REGIONAL"]
    assert domain.count("dev-app", "aws_api_gateway_base_path_mapping") == 1
