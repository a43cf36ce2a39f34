"""The API and its function's capacity against the contract: each rule of
tests/infra/contract/api_rules.py holds on the real synth of every workspace (both API
kinds where the setting exists), and reports the specific problem on a broken copy."""

from __future__ import annotations

import copy
import json
import re

import pytest

from handlers.api import models
from handlers.api.gateway_answers import EXPOSED_HEADERS, SIGV4_HEADERS, WAF_REFUSALS
from handlers.api.logic.jobs import MAX_PAYLOAD_BYTES
from handlers.api.openapi import openapi_json
from handlers.api.routes_table import PUBLIC_ROUTES, ROUTES
from modules.api_common import QUERY_PARAMETERS
from modules.config import WORKSPACES, ConfigError, settings_for
from modules.waf import integers_above
from tests.infra.conftest import SETTINGS
from tests.infra.contract import api_rules as rules

OPENAPI = json.loads(openapi_json())
OPENAPI_HTTP = json.loads(openapi_json(kind="http"))
ITEM_CHARACTERS = models.NAME_MAX + models.DESCRIPTION_MAX + models.TAGS_MAX * models.TAG_MAX
LARGEST_BODY = rules.largest_contract_body(MAX_PAYLOAD_BYTES, ITEM_CHARACTERS)
KINDS = ("synth", "synth_http")


def app(synth, workspace):
    return copy.deepcopy(synth.stack(f"{workspace}-app"))


def capacity(workspace):
    sizing = SETTINGS[workspace].app.sizing("api")
    return sizing.expected_duration_ms, SETTINGS[workspace].app.assumed_unreserved_concurrency


def without_gateway_response(stack, response_type):
    """The stack with one gateway response type removed (the gateway's own answer again)."""
    responses = stack["resource"]["aws_api_gateway_gateway_response"]
    del responses[next(k for k, v in responses.items() if v["response_type"] == response_type)]
    return stack


def only(stack, rtype, suffix):
    [found] = [cfg for path, cfg in rules.resources(stack, rtype).items() if path.endswith(suffix)]
    return found


# --- the contract the rules read ------------------------------------------------------------

def test_largest_contract_body_allows_for_json_escaping():
    # A payload of MAX_PAYLOAD_BYTES compact UTF-8 bytes, sent escaped as ASCII with default separators.
    payload = {"text": "é" * ((MAX_PAYLOAD_BYTES - 20) // 2)}
    sent = json.dumps({"payload": payload}).encode()
    assert len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()) <= MAX_PAYLOAD_BYTES
    assert len(sent) > 2.9 * MAX_PAYLOAD_BYTES and len(sent) <= LARGEST_BODY
    assert SETTINGS["prod"].api.waf_max_body_bytes >= LARGEST_BODY


def test_declared_query_parameters_are_the_openapi_ones():
    openapi = rules.contract_parameters(OPENAPI)
    for (method, path), names in openapi.items():
        queries = {n.rsplit(".", 1)[1] for n in names if ".querystring." in n}
        assert queries == set(QUERY_PARAMETERS.get((method, path), ())), (method, path)


@pytest.mark.parametrize("limit", [100, 999, 1000, 65_536, 262_144])
def test_the_body_size_regex_matches_exactly_the_numbers_above_the_limit(limit):
    pattern = re.compile(integers_above(limit))
    assert [n for n in range(0, 3 * limit) if bool(pattern.search(str(n))) != (n > limit)] == []
    assert pattern.search("0" + str(limit + 1)) and not pattern.search("1e9") and not pattern.search("-5")
    assert rules.content_length_blocked_from(integers_above(limit)) == limit + 1


# --- finding 1: stage caching ---------------------------------------------------------------

@pytest.mark.parametrize("workspace", WORKSPACES)
def test_no_cached_route_without_its_keys(synth, workspace):
    assert rules.cached_route_problems(app(synth, workspace), OPENAPI) == []


def test_cache_rule_reports_keyless_caching_and_never_cached_routes(synth):
    # Given prod as it was: a cache cluster and caching on */* with no cache keys
    stack = app(synth, "prod")
    only(stack, "aws_api_gateway_stage", "gateway/stage")["cache_cluster_enabled"] = True
    only(stack, "aws_api_gateway_method_settings", "gateway/method_settings")["settings"]["caching_enabled"] = True
    for integration in rules.resources(stack, "aws_api_gateway_integration").values():
        integration.pop("cache_key_parameters", None)
    problems = rules.cached_route_problems(stack, OPENAPI)
    assert "GET /jobs/{id}: caching_enabled on the stage cache; this route must never be cached " \
           "(its answer changes with every poll or probe)" in problems
    assert any(p.startswith("GET /health: caching_enabled") for p in problems)
    assert any(p.startswith("GET /items/{id}: cached without method.request.path.id") for p in problems)
    assert any(p.startswith("GET /items: cached without method.request.querystring.cursor") for p in problems)


def test_a_cached_route_is_keyed_by_all_its_parameters(tmp_path):
    from modules.app_builder import build_app
    from tests.infra.synthesized import Synthesized

    settings = settings_for("staging", {}, {"api": {"cached_routes": {"GET /items": 30, "GET /items/{id}": 10}}})
    build_app([settings], outdir=str(tmp_path)).synth()
    stack = Synthesized(tmp_path).stack("staging-app")
    assert only(stack, "aws_api_gateway_stage", "gateway/stage")["cache_cluster_enabled"] is True
    cached = {s["method_path"]: s["settings"] for s in rules.resources(stack, "aws_api_gateway_method_settings")
              .values() if s["settings"]["caching_enabled"]}
    assert cached.keys() == {"items/GET", "items/{id}/GET"} and cached["items/GET"]["cache_ttl_in_seconds"] == 30
    assert rules.cached_route_problems(stack, OPENAPI) == []
    # When a cache key is dropped, the rule names it
    only(stack, "aws_api_gateway_integration", "integration_get_items")["cache_key_parameters"] = [
        "method.request.querystring.limit"]
    assert rules.cached_route_problems(stack, OPENAPI) == [
        "GET /items: cached without method.request.querystring.cursor in the integration's cache_key_parameters; "
        "every request would get the answer cached for another value"]


@pytest.mark.parametrize(("route", "allowed"), [("GET /jobs/{id}", False), ("GET /health", False),
                                                ("POST /items", False), ("GET /items/{id}", True)])
def test_config_refuses_caching_job_status_health_and_writes(route, allowed):
    if allowed:
        assert settings_for("prod", {}, {"api": {"cached_routes": {route: 60}}}).api.cached_routes == {route: 60}
        return
    with pytest.raises(ConfigError, match=re.escape(f"cached_routes key {route!r} cannot be cached")):
        settings_for("prod", {}, {"api": {"cached_routes": {route: 60}}})


# --- finding 2: body size ------------------------------------------------------------------------

@pytest.mark.parametrize("workspace", WORKSPACES)
def test_body_limits_cover_the_contract(synth, workspace):
    assert rules.body_limit_problems(app(synth, workspace), LARGEST_BODY) == []


def test_body_rule_reports_the_8kb_managed_rule_and_a_low_limit(synth):
    stack = app(synth, "prod")
    acl = only(stack, "aws_wafv2_web_acl", "waf/web_acl")
    common = next(r for r in acl["rule"] if r["name"] == "AWSManagedRulesCommonRuleSet")
    common["statement"]["managed_rule_group_statement"]["rule_action_override"] = []
    size = next(r for r in acl["rule"] if r["name"] == "body-size-limit")
    size["statement"]["regex_match_statement"]["regex_string"] = integers_above(65_536)
    size["action"]["block"]["custom_response"]["response_code"] = 403
    assert rules.body_limit_problems(stack, LARGEST_BODY) == [
        "web ACL rule AWSManagedRulesCommonRuleSet: SizeRestrictions_BODY blocks bodies over 8192 bytes; the "
        f"contract accepts bodies up to {LARGEST_BODY} bytes (override it to count)",
        f"web ACL rule body-size-limit: blocks a Content-Length of 65537 bytes; the contract accepts bodies up to "
        f"{LARGEST_BODY} bytes",
        "web ACL rule body-size-limit: answers 403; the contract answers this case with 413"]
    assert rules.body_limit_problems(stack, 11 * 1024 * 1024)[0].startswith("API Gateway payload limit")


def test_waf_body_answer_is_the_error_shape(synth):
    acl = only(app(synth, "prod"), "aws_wafv2_web_acl", "waf/web_acl")
    body = next(b for b in acl["custom_response_body"] if b["key"] == "payload_too_large")
    assert json.loads(body["content"]) == {"error": {
        "code": "payload_too_large", "message": f"the request body is larger than "
                                                f"{SETTINGS['prod'].api.waf_max_body_bytes} bytes",
        "request_id": "waf-blocked"}}


def test_waf_logs_hold_no_api_key(synth):
    logging = only(app(synth, "prod"), "aws_wafv2_web_acl_logging_configuration", "waf/logging")
    assert logging["redacted_fields"] == [{"single_header": {"name": "x-api-key"}},
                                          {"single_header": {"name": "authorization"}}]


# --- finding 3: WAF rate rule ---------------------------------------------------------------------

@pytest.mark.parametrize("workspace", WORKSPACES)
def test_waf_rate_covers_the_throttle(synth, workspace):
    assert rules.waf_rate_problems(app(synth, workspace)) == []


def test_waf_rate_rule_reports_a_low_limit_and_a_bare_403(synth):
    stack = app(synth, "prod")
    rate = next(r for r in only(stack, "aws_wafv2_web_acl", "waf/web_acl")["rule"] if r["name"] == "rate-limit-per-ip")
    rate["statement"]["rate_based_statement"] = {"limit": 2000, "aggregate_key_type": "IP"}
    rate["action"] = {"block": {}}
    api = SETTINGS["prod"].api
    assert rules.waf_rate_problems(stack) == [
        "web ACL rule rate-limit-per-ip: limit 2000 per 300 s is below what the stage throttle admits in that "
        f"window ({round(api.throttle_rate_limit * 300) + 200})",
        "web ACL rule rate-limit-per-ip: answers 403; the contract answers this case with 429",
        "web ACL rule rate-limit-per-ip: the block response body is not the product's JSON error shape "
        '{"error": {"code", "message", "request_id"}}',
        "web ACL rule rate-limit-per-ip: the block response has no Retry-After header"]


# --- finding 4: admitted rate vs concurrency, and the answer to a Lambda throttle ------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_admitted_rate_fits_the_api_function(request, kind, workspace):
    stack = app(request.getfixturevalue(kind), workspace)
    assert rules.capacity_problems(stack, *capacity(workspace)) == []


@pytest.mark.parametrize("kind", KINDS)
def test_capacity_rule_reports_a_throttle_above_the_reservation(request, kind):
    # Given prod's function reserved at 100 as it was, with prod's throttle
    stack = app(request.getfixturevalue(kind), "prod")
    only(stack, "aws_lambda_function", "api/function")["reserved_concurrent_executions"] = 100
    problems = rules.capacity_problems(stack, *capacity("prod"))
    assert problems[0] == ("stage throttle (all methods): admits 1000 requests/s; the api function runs at most "
                           "500/s (reserved_concurrent_executions 100 x 1000 / 200 ms)")
    # Each route's burst is the total split over the routes, rounded down (HTTP: one more, $default)
    routes = len(ROUTES) + (1 if kind == "synth_http" else 0)
    burst = SETTINGS["prod"].api.throttle_burst_limit // routes * routes
    assert f"stage throttle (all methods): burst {burst} exceeds the api function's concurrency 100 " \
           "(reserved_concurrent_executions 100)" in problems


def test_config_refuses_a_throttle_above_the_function_capacity():
    with pytest.raises(ConfigError, match=re.escape("api.throttle_rate_limit 1000/s and throttle_burst_limit 50 "
                                                    "exceed what the api function runs (50 concurrent x 1000 / "
                                                    "200 ms = 250/s)")):
        settings_for("dev", {}, {"api": {"throttle_rate_limit": 1000}})


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_a_lambda_throttle_reaches_the_client_as_the_contract_says(synth, workspace):
    assert rules.lambda_throttle_answer_problems(app(synth, workspace), OPENAPI) == []


def test_lambda_throttle_rule_reports_the_bare_500(synth):
    stack = without_gateway_response(app(synth, "dev"), "API_CONFIGURATION_ERROR")
    assert rules.lambda_throttle_answer_problems(stack, OPENAPI) == [
        "gateway responses: no API_CONFIGURATION_ERROR response; a throttled invocation reaches the client as a "
        "bare 500 without the error shape or Retry-After"]


def test_lambda_throttle_rule_reports_a_503_promise_the_gateway_cannot_keep(synth):
    # Given the previous main: the throttle answer configured on INTEGRATION_FAILURE (503), and
    # API_CONFIGURATION_ERROR, where a rejected invocation goes, without Retry-After; the
    # contract without any 500
    stack = app(synth, "dev")
    response = only(stack, "aws_api_gateway_gateway_response", "gateway_response_api_configuration_error")
    response["response_parameters"].pop("gatewayresponse.header.Retry-After")
    response["response_templates"]["application/json"] = response["response_templates"]["application/json"].replace(
        "service_unavailable", "gateway_error")
    previous = copy.deepcopy(OPENAPI)
    for operations in previous["paths"].values():
        for operation in operations.values():
            operation["responses"].pop("500")
    problems = rules.lambda_throttle_answer_problems(stack, previous)
    assert problems[0] == "gateway response API_CONFIGURATION_ERROR: no Retry-After header"
    assert "POST /items: the contract does not say a throttled invocation is answered 500 gateway_error with " \
           "Retry-After" in problems and len(problems) == 1 + len(rules.contract_parameters(OPENAPI))


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_every_gateway_answer_is_in_the_error_shape_and_the_contract(synth, workspace):
    assert rules.gateway_answer_problems(app(synth, workspace), OPENAPI) == []


def test_gateway_answer_rule_reports_an_undocumented_answer_and_a_bare_one(synth):
    stack = without_gateway_response(app(synth, "prod"), "WAF_FILTERED")
    previous = copy.deepcopy(OPENAPI)
    del previous["paths"]["/items"]["get"]["responses"]["504"]
    assert rules.gateway_answer_problems(stack, previous) == [
        'gateway responses: no WAF_FILTERED response; the gateway answers it in its own shape {"message": ...}',
        "GET /items: gateway response INTEGRATION_TIMEOUT answers 504 gateway_timeout, which the contract does not "
        "list"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_each_kind_asks_for_the_authentication_its_document_names(request, kind, workspace):
    document = OPENAPI if kind == "synth" else OPENAPI_HTTP
    assert rules.authentication_problems(app(request.getfixturevalue(kind), workspace), document) == []


def test_authentication_rule_reports_the_http_kind_against_the_rest_document(synth_http):
    # Given the previous main: one document (x-api-key) for both kinds
    problems = rules.authentication_problems(app(synth_http, "dev"), OPENAPI)
    assert "POST /items: authorization_type AWS_IAM; the document asks for ['api_key']" in problems
    assert len(problems) == len(ROUTES) - len(PUBLIC_ROUTES)


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_the_http_kind_serves_its_document(synth_http, workspace):
    assert rules.http_answer_problems(app(synth_http, workspace), OPENAPI_HTTP, SIGV4_HEADERS, EXPOSED_HEADERS) == []


def test_http_rule_reports_the_previous_cors_and_missing_default_route(synth_http):
    stack = app(synth_http, "prod")
    api = only(stack, "aws_apigatewayv2_api", "http_api")
    api["cors_configuration"]["allow_headers"] = ["content-type", "idempotency-key", "authorization"]
    del api["cors_configuration"]["expose_headers"]
    routes = stack["resource"]["aws_apigatewayv2_route"]
    del routes[next(k for k, v in routes.items() if v["route_key"] == "$default")]
    problems = rules.http_answer_problems(stack, OPENAPI_HTTP, SIGV4_HEADERS, EXPOSED_HEADERS)
    assert problems[:3] == [f"HTTP API CORS: {h} is not an allowed header; browsers cannot send it"
                            for h in ("x-amz-content-sha256", "x-amz-date", "x-amz-security-token")]
    assert problems[3:5] == [f"HTTP API CORS: {h} is not exposed; browsers cannot read it"
                             for h in ("location", "retry-after")]
    assert problems[5].startswith("HTTP API: no $default route")
    # And the REST document, which promises the error shape for the gateway's own answers
    assert "GET /items: the HTTP API answers 500 {\"message\"} on its own; the document does not say so" in \
        rules.http_answer_problems(stack, OPENAPI, SIGV4_HEADERS, EXPOSED_HEADERS)


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_the_web_acl_refuses_only_what_the_contract_says(synth, workspace):
    assert rules.waf_refusal_problems(app(synth, workspace), OPENAPI, list(WAF_REFUSALS)) == []


def test_waf_rule_reports_body_rules_that_block_item_text(synth):
    # Given prod's web ACL as it was: only SizeRestrictions_BODY counted
    stack = app(synth, "prod")
    acl = only(stack, "aws_wafv2_web_acl", "waf/web_acl")
    common = next(r for r in acl["rule"] if r["name"] == "AWSManagedRulesCommonRuleSet")
    common["statement"]["managed_rule_group_statement"]["rule_action_override"] = [
        {"name": "SizeRestrictions_BODY", "action_to_use": {"count": {}}}]
    problems = rules.waf_refusal_problems(stack, OPENAPI, list(WAF_REFUSALS))
    assert problems == [f"web ACL rule AWSManagedRulesCommonRuleSet: {name} blocks text the contract accepts in "
                        "request bodies (an item description with markup, ../ or a URL); override it to count"
                        for name in ("CrossSiteScripting_BODY", "EC2MetaDataSSRF_BODY", "GenericLFI_BODY",
                                     "GenericRFI_BODY")]
    # And a refusal the document does not list, answered without the error shape
    undocumented = copy.deepcopy(OPENAPI)
    undocumented["x-waf-refusals"].remove(WAF_REFUSALS[0])
    without_gateway_response(stack, "WAF_FILTERED")
    problems = rules.waf_refusal_problems(stack, undocumented, list(WAF_REFUSALS))
    assert f"web ACL rule AWSManagedRulesCommonRuleSet: NoUserAgent_HEADER refuses {WAF_REFUSALS[0]!r}, which the " \
           "document's x-waf-refusals does not list" in problems
    assert problems[-1].startswith("gateway responses: a managed-rule block is not answered 403 request_refused")


# --- finding 6: quota and per-client keys ------------------------------------------------------

@pytest.mark.parametrize("workspace", WORKSPACES)
def test_quota_outlasts_the_throttle_and_every_client_has_a_key(synth, workspace):
    stack = app(synth, workspace)
    assert rules.quota_problems(stack) == []
    assert rules.client_key_problems(stack, SETTINGS[workspace].api.clients) == []


def test_quota_rule_reports_a_month_used_up_in_minutes(synth):
    stack = app(synth, "prod")
    only(stack, "aws_api_gateway_usage_plan", "gateway/usage_plan")["quota_settings"] = {
        "limit": 1_000_000, "period": "MONTH"}
    rate = SETTINGS["prod"].api.client_rate_limit
    assert rules.quota_problems(stack) == [
        f"usage plan serverless-app-prod-api-plan: quota 1000000 per MONTH is used up by its throttle ({rate:g}/s) "
        f"before the period ends; needs >= {round(rate * 31 * 86400)} or none"]
    with pytest.raises(ConfigError, match="quota_per_month 1000000 is used up by the per-client throttle"):
        settings_for("prod", {}, {"api": {"quota_per_month": 1_000_000}})


def test_every_client_gets_its_own_key_in_the_plan(tmp_path):
    from modules.app_builder import build_app
    from tests.infra.synthesized import Synthesized

    clients = ("default", "partner-a", "partner-b")
    settings = settings_for("dev", {}, {"api": {"clients": clients}})
    build_app([settings], outdir=str(tmp_path)).synth()
    stack = Synthesized(tmp_path).stack("dev-app")
    keys = rules.resources(stack, "aws_api_gateway_api_key")
    assert sorted(k["name"] for k in keys.values()) == [
        "serverless-app-dev-api-key", "serverless-app-dev-api-key-partner-a", "serverless-app-dev-api-key-partner-b"]
    assert rules.client_key_problems(stack, clients) == [] and rules.capacity_problems(stack, 200, 50) == []
    plan = only(stack, "aws_api_gateway_usage_plan", "gateway/usage_plan")
    assert plan["throttle_settings"] == {"rate_limit": 100 / 3, "burst_limit": 16}
    outputs = stack["output"]
    assert outputs["api_client_key_values"]["sensitive"] is True and set(outputs["api_client_key_ids"]["value"]) == set(
        clients)
    assert outputs["api_key_id"]["value"] == outputs["api_client_key_ids"]["value"]["default"]
    # When two clients share one key, the rule says so
    del stack["resource"]["aws_api_gateway_api_key"][next(k for k, v in stack["resource"]["aws_api_gateway_api_key"]
                                                          .items() if v["name"].endswith("partner-b"))]
    assert rules.client_key_problems(stack, clients) == [
        "API keys: 2 for 3 clients (default, partner-a, partner-b); each client needs its own key"]


# --- finding 8: reservations are opt-in ---------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_reservations_are_opt_in(request, kind, workspace):
    stack = app(request.getfixturevalue(kind), workspace)
    assert rules.reservation_problems(stack, workspace, SETTINGS[workspace].app.account_concurrency_limit) == []
    for spec_name in ("api", "process", "mark-failed"):
        sizing = SETTINGS[workspace].app.sizing(spec_name)
        assert (sizing.reserved_concurrency is None) == (sizing.reservation_reason is None)


def test_reservation_rule_reports_dev_reservations_and_a_full_account(synth):
    stack = app(synth, "dev")
    only(stack, "aws_lambda_function", "process/function")["reserved_concurrent_executions"] = 950
    assert rules.reservation_problems(stack, "dev", 1000) == [
        "app/process/function: reserved_concurrent_executions 950 in dev; reservations are off there",
        "reserved_concurrent_executions total 950 leaves less than 100 of the account's 1000 unreserved"]


def test_config_wants_a_reason_for_a_reservation():
    with pytest.raises(ConfigError, match="reserved_concurrency 20 with reservation_reason None; allowed: both set"):
        settings_for("staging", {}, {"app": {"function_overrides": {"process": {"reserved_concurrency": 20}}}})
    reasoned = settings_for("staging", {}, {"app": {"function_overrides": {"process": {
        "reserved_concurrency": 20, "reservation_reason": "bounds the load on the table"}}}})
    assert reasoned.app.sizing("process").reserved_concurrency == 20
    with pytest.raises(ConfigError, match="reserved concurrency totals 901"):
        settings_for("staging", {}, {"app": {"function_overrides": {"process": {
            "reserved_concurrency": 901, "reservation_reason": "bounds the load on the table"}}}})
