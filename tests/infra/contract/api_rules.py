"""Contract-vs-configuration rules for the API and its function's capacity.

Each rule is a pure function over one synthesized app stack (the `cdk.tf.json` dict) and
values of the product's contract (the exported OpenAPI document, the handler limits); it
returns a list of problems, each naming the resource, the setting and the contract value it
breaks. The AWS behaviour each rule relies on is cited next to it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

Stack = Mapping[str, Any]

# Routes whose answers change with every poll or probe: never served from a cache.
NEVER_CACHED = frozenset({("GET", "/jobs/{id}"), ("GET", "/health")})
# Keys every error body of the product has (handlers/shared/error_response.py).
ERROR_KEYS = {"code", "message", "request_id"}

# AWS documented limits the rules compare with.
# "Amazon API Gateway quotas": API payload size 10 MB (REST and HTTP APIs), not adjustable.
API_GATEWAY_PAYLOAD_BYTES = 10 * 1024 * 1024
# "Lambda quotas": invocation payload (request and response) 6 MB for synchronous invocations.
LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
# "Amazon API Gateway quotas": total size of request line and header values, 10240 bytes.
API_GATEWAY_HEADER_BYTES = 10240
# "Rate-based rule high-level settings in AWS WAF": evaluation window defaults to 300 s.
WAF_DEFAULT_WINDOW_SECONDS = 300
# "Cache settings for REST APIs in API Gateway": default TTL 300 s, maximum 3600 s.
CACHE_DEFAULT_TTL_SECONDS = 300
# Usage plan quota periods; a MONTH is counted at its longest (31 days).
QUOTA_PERIOD_SECONDS = {"DAY": 86_400, "WEEK": 7 * 86_400, "MONTH": 31 * 86_400}
# "Configuring reserved concurrency": Lambda always keeps 100 of the account's concurrency
# unreserved, for the functions without a reservation.
UNRESERVED_MINIMUM = 100


# --- the contract ------------------------------------------------------------------------

def contract_parameters(openapi: Mapping[str, Any]) -> dict[tuple[str, str], set[str]]:
    """Every route's parameters as API Gateway request-parameter names
    (`method.request.path.id`, `method.request.querystring.cursor`, ...)."""
    where = {"path": "path", "query": "querystring", "header": "header"}
    found: dict[tuple[str, str], set[str]] = {}
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            found[(method.upper(), path)] = {f"method.request.{where[p['in']]}.{p['name']}"
                                             for p in operation.get("parameters", []) if p["in"] in where}
    return found


def largest_contract_body(max_payload_bytes: int, item_characters: int) -> int:
    """The largest request body, in bytes, that the contract accepts from a client using a
    standard JSON encoder.

    POST /jobs limits the payload to `max_payload_bytes` serialized as compact UTF-8 JSON
    (handlers/api/logic/jobs.py). A client may send the same document escaped as ASCII
    (`ensure_ascii`, the default of Python's json.dumps and of many encoders) and with a
    space after `,` and `:`: a 2-byte UTF-8 character becomes a 6-byte `\\uXXXX`, a 4-byte
    one a 12-byte surrogate pair, and a 1-byte separator 2 bytes, so every byte of the
    compact form becomes at most 3 bytes. The envelope `{"payload": }` adds 13 bytes.
    Item bodies count characters, not bytes: at most 12 bytes per character (a surrogate
    pair), plus 1 KiB of keys, quotes and separators. Insignificant whitespace beyond one
    space per separator is not counted: the contract bounds content, not formatting.
    """
    jobs = 3 * max_payload_bytes + len('{"payload": }')
    items = 12 * item_characters + 1024
    return max(jobs, items)


# --- reading the synthesized stack ----------------------------------------------------------

def resources(stack: Stack, rtype: str) -> dict[str, dict[str, Any]]:
    """Resources of one type keyed by construct path below the stack."""
    found = stack.get("resource", {}).get(rtype, {})
    return {cfg["//"]["metadata"]["path"].split("/", 1)[1]: cfg for cfg in found.values()}


def _by_ref(stack: Stack, rtype: str, attribute: str) -> dict[str, dict[str, Any]]:
    return {f"${{{rtype}.{logical}.{attribute}}}": cfg
            for logical, cfg in stack.get("resource", {}).get(rtype, {}).items()}


def rest_methods(stack: Stack) -> dict[tuple[str, str], dict[str, Any]]:
    """(method, path) -> {"method": ..., "integration": ...} for every non-OPTIONS method."""
    tree = _by_ref(stack, "aws_api_gateway_resource", "id")

    def full_path(resource_ref: str) -> str:
        parts = []
        while resource_ref in tree:
            parts.append(tree[resource_ref]["path_part"])
            resource_ref = tree[resource_ref]["parent_id"]
        return "/" + "/".join(reversed(parts))

    # An integration names its method's HTTP method literally or by reference to the method.
    integrations = {(i["resource_id"], i["http_method"]): i
                    for i in resources(stack, "aws_api_gateway_integration").values()}
    found = {}
    for logical, m in stack.get("resource", {}).get("aws_api_gateway_method", {}).items():
        if m["http_method"] == "OPTIONS":
            continue
        by_ref = (m["resource_id"], f"${{aws_api_gateway_method.{logical}.http_method}}")
        integration = integrations.get(by_ref) or integrations.get((m["resource_id"], m["http_method"]), {})
        found[(m["http_method"], full_path(m["resource_id"]))] = {"method": m, "integration": integration}
    return found


def _method_settings(stack: Stack) -> dict[str, dict[str, Any]]:
    found = resources(stack, "aws_api_gateway_method_settings").values()
    return {s["method_path"]: s.get("settings", {}) for s in found}


def effective_settings(stack: Stack, method: str, path: str) -> dict[str, Any]:
    """The stage's method settings for one method: its own override, else `*/*`
    (Terraform aws_api_gateway_method_settings: method_path `{resource_path}/{METHOD}`)."""
    settings = _method_settings(stack)
    return settings.get(f"{path.lstrip('/')}/{method}", settings.get("*/*", {}))


def _stage(stack: Stack) -> dict[str, Any] | None:
    stages = list(resources(stack, "aws_api_gateway_stage").values())
    return stages[0] if stages else None


def _web_acl(stack: Stack) -> dict[str, Any] | None:
    acls = list(resources(stack, "aws_wafv2_web_acl").values())
    return acls[0] if acls else None


def _api_function(stack: Stack) -> dict[str, Any]:
    return resources(stack, "aws_lambda_function")["app/api/function"]


# --- rules ------------------------------------------------------------------------------------

def cached_route_problems(stack: Stack, openapi: Mapping[str, Any]) -> list[str]:
    """Every cached GET has all its contract parameters as cache keys (declared on the
    method, listed in the integration's cache_key_parameters), and job status and health
    are never cached.

    AWS "Cache settings for REST APIs in API Gateway": with caching on for a stage, GET
    methods are cached (default TTL 300 s) and the cache key is made only of the parameters
    named as cache keys; cacheKeyParameters must also be declared in the method's
    requestParameters (API reference, Integration.cacheKeyParameters). A parameter left
    out is ignored: `GET /items/{id}` would answer every id with the first one cached.
    """
    stage = _stage(stack)
    if stage is None or not stage.get("cache_cluster_enabled"):
        return []
    problems = []
    parameters = contract_parameters(openapi)
    for (method, path), parts in sorted(rest_methods(stack).items()):
        settings = effective_settings(stack, method, path)
        overridden = f"{path.lstrip('/')}/{method}" in _method_settings(stack)
        if not settings.get("caching_enabled") or (method != "GET" and not overridden):
            continue
        where = f"{method} {path}"
        if (method, path) in NEVER_CACHED:
            problems.append(f"{where}: caching_enabled on the stage cache; this route must never be cached "
                            "(its answer changes with every poll or probe)")
            continue
        wanted = parameters.get((method, path), set())
        keys = set(parts["integration"].get("cache_key_parameters") or [])
        declared = set(parts["method"].get("request_parameters") or {})
        for missing in sorted(wanted - keys):
            problems.append(f"{where}: cached without {missing} in the integration's cache_key_parameters; "
                            "every request would get the answer cached for another value")
        for undeclared in sorted(keys - declared):
            problems.append(f"{where}: cache key {undeclared} is not declared in the method's request_parameters")
        ttl = settings.get("cache_ttl_in_seconds", CACHE_DEFAULT_TTL_SECONDS)
        if not 0 < ttl <= 3600:
            problems.append(f"{where}: cache_ttl_in_seconds {ttl}; allowed: 1 to 3600")
    return problems


def content_length_blocked_from(regex: str, ceiling: int = 10**9) -> int | None:
    """The smallest Content-Length a WAF regex on that header matches (None: none up to
    `ceiling`), found by bisection on a pattern that matches every number from some value on."""
    pattern = re.compile(regex)
    if not pattern.search(str(ceiling)):
        return None
    low, high = 0, ceiling
    while low < high:
        middle = (low + high) // 2
        if pattern.search(str(middle)):
            high = middle
        else:
            low = middle + 1
    return low


def _blocks(rule: Mapping[str, Any]) -> bool:
    return "block" in (rule.get("action") or {})


def _custom_response(rule: Mapping[str, Any]) -> dict[str, Any]:
    return ((rule.get("action") or {}).get("block") or {}).get("custom_response") or {}


def _response_body_problems(acl: Mapping[str, Any], rule: Mapping[str, Any], status: int,
                            headers: Iterable[str] = ()) -> list[str]:
    """The rule answers with `status`, the product's error shape and `headers`
    (AWS WAF "Custom responses for Block actions": status code, headers and a static body
    from the web ACL's custom_response_body, which take precedence over API Gateway's
    gateway responses, "Gateway response types for API Gateway")."""
    name, response = rule["name"], _custom_response(rule)
    problems = []
    if response.get("response_code") != status:
        problems.append(f"web ACL rule {name}: answers {response.get('response_code', 403)}; the contract "
                        f"answers this case with {status}")
    bodies = {b["key"]: b for b in acl.get("custom_response_body") or []}
    body = bodies.get(response.get("custom_response_body_key", ""))
    try:
        error = json.loads(body["content"])["error"] if body else None
    except (ValueError, KeyError, TypeError):
        error = None
    content_type = (body or {}).get("content_type")
    if not isinstance(error, dict) or not set(error) >= ERROR_KEYS or content_type != "APPLICATION_JSON":
        problems.append(f"web ACL rule {name}: the block response body is not the product's JSON error shape "
                        '{"error": {"code", "message", "request_id"}}')
    sent = {h["name"].lower() for h in response.get("response_header") or []}
    problems += [f"web ACL rule {name}: the block response has no {h} header" for h in headers if h.lower() not in sent]
    return problems


def _managed_override(rule: Mapping[str, Any], group: str, name: str) -> str | None:
    statement = rule.get("statement", {}).get("managed_rule_group_statement")
    if not statement or statement.get("name") != group:
        return None
    for override in statement.get("rule_action_override") or []:
        if override["name"] == name:
            return next(iter(override["action_to_use"]))
    return "block"


def body_limit_problems(stack: Stack, largest_body: int) -> list[str]:
    """Nothing in front of the function refuses a body the contract accepts, and the WAF
    refuses larger ones in the product's error shape (413).

    AWS: API Gateway's payload limit is 10 MB ("Amazon API Gateway quotas"); the function is
    invoked synchronously with the body inside a JSON event, limited to 6 MB ("Lambda
    quotas"; escaping at most triples a body's bytes). AWS WAF's
    AWSManagedRulesCommonRuleSet rule SizeRestrictions_BODY blocks bodies over 8 KB ("Core
    rule set (CRS) managed rule group"): it must be overridden to count
    (`rule_action_override`). WAF inspects at most 64 KB of an API Gateway body ("Managing
    body inspection size limits"), so a limit above that is enforced on the Content-Length
    header."""
    problems = []
    if largest_body > API_GATEWAY_PAYLOAD_BYTES:
        problems.append(f"API Gateway payload limit {API_GATEWAY_PAYLOAD_BYTES} bytes is below the largest "
                        f"contract body {largest_body}")
    event = 3 * largest_body + 2 * API_GATEWAY_HEADER_BYTES
    if event > LAMBDA_SYNC_PAYLOAD_BYTES:
        problems.append(f"Lambda synchronous payload limit {LAMBDA_SYNC_PAYLOAD_BYTES} bytes is below the event "
                        f"of the largest contract body ({event} bytes)")
    acl = _web_acl(stack)
    if acl is None:
        return problems
    rules = acl.get("rule") or []
    for rule in rules:
        if _managed_override(rule, "AWSManagedRulesCommonRuleSet", "SizeRestrictions_BODY") == "block":
            problems.append(f"web ACL rule {rule['name']}: SizeRestrictions_BODY blocks bodies over 8192 bytes; "
                            f"the contract accepts bodies up to {largest_body} bytes (override it to count)")
        size = rule.get("statement", {}).get("size_constraint_statement")
        if _blocks(rule) and size and "body" in size.get("field_to_match", {}) and size["size"] < largest_body:
            problems.append(f"web ACL rule {rule['name']}: blocks bodies over {size['size']} bytes; the contract "
                            f"accepts bodies up to {largest_body} bytes")
    size_rules = [r for r in rules if _blocks(r) and r.get("statement", {}).get("regex_match_statement", {})
                  .get("field_to_match", {}).get("single_header", {}).get("name") == "content-length"]
    if not size_rules:
        problems.append("web ACL: no rule blocks bodies larger than the contract accepts "
                        f"({largest_body} bytes) in the product's error shape")
    for rule in size_rules:
        blocked = content_length_blocked_from(rule["statement"]["regex_match_statement"]["regex_string"])
        if blocked is not None and blocked <= largest_body:
            problems.append(f"web ACL rule {rule['name']}: blocks a Content-Length of {blocked} bytes; the contract "
                            f"accepts bodies up to {largest_body} bytes")
        problems += _response_body_problems(acl, rule, 413)
    return problems


def stage_admission(stack: Stack) -> tuple[float, int] | None:
    """Requests per second and burst the stage admits to the function, all methods together
    (None: a method without a throttle, so only the account's limit applies).

    AWS "Throttle requests to your REST APIs": per-API, per-stage throttling limits are
    applied at the method level, each method with its own token bucket; HTTP APIs the same
    per route ("Throttling requests to your HTTP API"). The sum over the methods that invoke
    the function is what can reach it at once."""
    rate, burst = 0.0, 0
    for method, path in rest_methods(stack):
        settings = effective_settings(stack, method, path)
        if not settings.get("throttling_rate_limit") or not settings.get("throttling_burst_limit"):
            return None
        rate += settings["throttling_rate_limit"]
        burst += settings["throttling_burst_limit"]
    for stage in resources(stack, "aws_apigatewayv2_stage").values():
        routes = resources(stack, "aws_apigatewayv2_route")
        defaults = stage.get("default_route_settings") or {}
        if not defaults.get("throttling_rate_limit") or not defaults.get("throttling_burst_limit"):
            return None
        rate += defaults["throttling_rate_limit"] * len(routes)
        burst += defaults["throttling_burst_limit"] * len(routes)
    return rate, burst


def _usage_plans(stack: Stack) -> list[tuple[dict[str, Any], int]]:
    """Every usage plan with the number of API keys in it."""
    plans = _by_ref(stack, "aws_api_gateway_usage_plan", "id")
    links = resources(stack, "aws_api_gateway_usage_plan_key").values()
    return [(plan, sum(1 for link in links if link["usage_plan_id"] == plan_ref)) for plan_ref, plan in plans.items()]


def waf_rate_problems(stack: Stack) -> list[str]:
    """The per-IP rate rule lets through at least what the stage admits in one evaluation
    window (many clients behind one NAT share an address), and answers like the API's own
    throttling: 429, the error shape and Retry-After.

    AWS "Rate-based rule high-level settings in AWS WAF": the limit counts requests per
    aggregation key (here the IP) over the evaluation window (60, 120, 300 or 600 s,
    default 300); the API Gateway token bucket admits at most rate x window + burst."""
    acl = _web_acl(stack)
    admitted = stage_admission(stack)
    if acl is None:
        return []
    problems = []
    for rule in acl.get("rule") or []:
        statement = rule.get("statement", {}).get("rate_based_statement")
        if not statement:
            continue
        window = statement.get("evaluation_window_sec", WAF_DEFAULT_WINDOW_SECONDS)
        if admitted is None:
            problems.append(f"web ACL rule {rule['name']}: the stage has no throttle to size it from")
        else:
            needed = math.ceil(admitted[0] * window) + admitted[1]
            if statement["limit"] < needed:
                problems.append(f"web ACL rule {rule['name']}: limit {statement['limit']} per {window} s is below "
                                f"what the stage throttle admits in that window ({needed})")
        if _blocks(rule):
            problems += _response_body_problems(acl, rule, 429, headers=("Retry-After",))
    return problems


def capacity_problems(stack: Stack, expected_duration_ms: float, assumed_concurrency: int) -> list[str]:
    """The API admits no more than its function can run: rate <= concurrency x 1000 /
    expected duration (ms), and burst <= concurrency, for the stage throttle (all methods
    together) and for every usage plan (its per-key throttle times its keys).

    `assumed_concurrency` is what the function counts on without a reservation. AWS
    "Configuring reserved concurrency": a reservation is the function's maximum and its
    guarantee; an invocation over it is throttled (429 from Invoke), which API Gateway
    answers with a 5xx."""
    function = _api_function(stack)
    reserved = function.get("reserved_concurrent_executions")
    concurrency = reserved if isinstance(reserved, int) and reserved >= 0 else assumed_concurrency
    capacity = concurrency * 1000 / expected_duration_ms
    source = f"reserved_concurrent_executions {reserved}" if concurrency == reserved else (
        f"assumed unreserved concurrency {assumed_concurrency}")
    admitted = stage_admission(stack)
    if admitted is None:
        return [f"stage: a method has no throttle; the account limit (10000/s) exceeds the api function's capacity "
                f"{capacity:g}/s ({source}, {expected_duration_ms:g} ms)"]
    checks = [("stage throttle (all methods)", *admitted)]
    checks += [(f"usage plan {plan['name']} ({keys} keys)", plan["throttle_settings"]["rate_limit"] * keys,
                plan["throttle_settings"]["burst_limit"] * keys)
               for plan, keys in _usage_plans(stack) if plan.get("throttle_settings")]
    problems = []
    for what, rate, burst in checks:
        if rate > capacity:
            problems.append(f"{what}: admits {rate:g} requests/s; the api function runs at most {capacity:g}/s "
                            f"({source} x 1000 / {expected_duration_ms:g} ms)")
        if burst > concurrency:
            problems.append(f"{what}: burst {burst} exceeds the api function's concurrency {concurrency} ({source})")
    return problems


def quota_problems(stack: Stack) -> list[str]:
    """A usage plan quota is at least what its throttle admits in the quota period, or there
    is none: a quota the throttle exhausts early locks the key out until the period ends
    (AWS "Usage plans and API keys": the quota is the number of requests a key may make per
    DAY, WEEK or MONTH; QUOTA_EXCEEDED is answered 429)."""
    problems = []
    for plan, _keys in _usage_plans(stack):
        quota, throttle = plan.get("quota_settings"), plan.get("throttle_settings")
        if not quota:
            continue
        if not throttle:
            problems.append(f"usage plan {plan['name']}: quota {quota['limit']} per {quota['period']} with no "
                            "throttle; the account limit exhausts it first")
            continue
        needed = math.ceil(throttle["rate_limit"] * QUOTA_PERIOD_SECONDS[quota["period"]])
        if quota["limit"] < needed:
            problems.append(f"usage plan {plan['name']}: quota {quota['limit']} per {quota['period']} is used up "
                            f"by its throttle ({throttle['rate_limit']:g}/s) before the period ends; needs >= "
                            f"{needed} or none")
    return problems


def client_key_problems(stack: Stack, clients: Iterable[str]) -> list[str]:
    """Every configured client has its own API key in a usage plan, so quotas and per-key
    throttles apply per client (AWS "Usage plans and API keys": limits apply to each key)."""
    clients = list(clients)
    keys = _by_ref(stack, "aws_api_gateway_api_key", "id")
    linked = {link["key_id"] for link in resources(stack, "aws_api_gateway_usage_plan_key").values()}
    problems = []
    if len(keys) < len(clients):
        problems.append(f"API keys: {len(keys)} for {len(clients)} clients ({', '.join(clients)}); each client "
                        "needs its own key")
    problems += [f"API key {key['name']}: not in any usage plan"
                 for ref, key in sorted(keys.items()) if ref not in linked]
    return problems


def reservation_problems(stack: Stack, workspace: str, account_concurrency: int) -> list[str]:
    """Reserved concurrency is opt-in: none in dev and local (new accounts may have too
    little concurrency to reserve any), and where reserved, the sum leaves AWS's 100
    unreserved ("Configuring reserved concurrency": you can reserve up to the unreserved
    account concurrency minus 100)."""
    reserved = {path: f["reserved_concurrent_executions"] for path, f in resources(stack, "aws_lambda_function").items()
                if isinstance(f.get("reserved_concurrent_executions"), int)
                and f["reserved_concurrent_executions"] >= 0}
    problems = []
    if workspace in ("local", "dev"):
        problems += [f"{path}: reserved_concurrent_executions {count} in {workspace}; reservations are off there"
                     for path, count in sorted(reserved.items())]
    if sum(reserved.values()) > account_concurrency - UNRESERVED_MINIMUM:
        problems.append(f"reserved_concurrent_executions total {sum(reserved.values())} leaves less than "
                        f"{UNRESERVED_MINIMUM} of the account's {account_concurrency} unreserved")
    return problems


# Status of each gateway response type when no status_code is set ("Gateway response types
# for API Gateway"); DEFAULT_5XX passes the original status through (500 for a rejected
# invocation). Types left out never answer a contract route (DEFAULT_4XX's many causes,
# BAD_REQUEST_BODY is the function's own 422 validation_error, MISSING_AUTHENTICATION_TOKEN
# is the 404 of a path outside the contract).
GATEWAY_DEFAULT_STATUS = {
    "DEFAULT_5XX": "500", "API_CONFIGURATION_ERROR": "500", "INTEGRATION_FAILURE": "504",
    "INTEGRATION_TIMEOUT": "504", "INVALID_API_KEY": "403", "WAF_FILTERED": "403", "THROTTLED": "429",
    "QUOTA_EXCEEDED": "429", "REQUEST_TOO_LARGE": "413",
}
# Answered only to requests that need a key (usage plans apply to keyed methods).
KEYED_ONLY = {"INVALID_API_KEY", "QUOTA_EXCEEDED"}
# AWS Lambda developer guide, "Handling Lambda errors with an API Gateway API": "If the
# Lambda API rejects the invocation request, API Gateway returns a 500 error code" - an
# execution failure of the integration, API_CONFIGURATION_ERROR (default 500), never
# INTEGRATION_FAILURE (default 504).
REJECTED_INVOCATION = "API_CONFIGURATION_ERROR"


def _gateway_responses(stack: Stack) -> dict[str, dict[str, Any]]:
    return {r["response_type"]: r for r in resources(stack, "aws_api_gateway_gateway_response").values()}


def _template_error(response: Mapping[str, Any]) -> dict[str, Any] | None:
    template = (response.get("response_templates") or {}).get("application/json", "")
    try:
        error = json.loads(template.replace("$context.requestId", "r").replace("$context.error.messageString",
                                                                               '"m"'))["error"]
    except (ValueError, KeyError, TypeError):
        return None
    return error if isinstance(error, dict) and set(error) >= ERROR_KEYS else None


def _operations(openapi: Mapping[str, Any]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def _documents(operation: Mapping[str, Any], status: str, code: str, retry_after: bool) -> bool:
    response = (operation.get("responses") or {}).get(status)
    if response is None or f"{code}:" not in response.get("description", ""):
        return False
    return not retry_after or "Retry-After" in (response.get("headers") or {})


def lambda_throttle_answer_problems(stack: Stack, openapi: Mapping[str, Any]) -> list[str]:
    """A throttled invocation reaches REST clients in the product's error shape with a retry
    hint, and with the status the contract publishes for it on every route.

    AWS: the Lambda API rejecting the invocation is answered 500 (the Lambda developer guide,
    above), through the API_CONFIGURATION_ERROR gateway response type; a gateway response sets
    a static status, headers and a body template ("Gateway responses for REST APIs")."""
    if not resources(stack, "aws_api_gateway_rest_api"):
        return []
    response = _gateway_responses(stack).get(REJECTED_INVOCATION)
    if response is None:
        return [f"gateway responses: no {REJECTED_INVOCATION} response; a throttled invocation reaches the client "
                "as a bare 500 without the error shape or Retry-After"]
    problems = []
    error = _template_error(response)
    if error is None:
        problems.append(f"gateway response {REJECTED_INVOCATION}: body is not the product's error shape")
    if "gatewayresponse.header.Retry-After" not in (response.get("response_parameters") or {}):
        problems.append(f"gateway response {REJECTED_INVOCATION}: no Retry-After header")
    status = response.get("status_code") or GATEWAY_DEFAULT_STATUS[REJECTED_INVOCATION]
    code = (error or {}).get("code", "?")
    problems += [f"{method} {path}: the contract does not say a throttled invocation is answered {status} {code} "
                 "with Retry-After" for method, path, operation in _operations(openapi)
                 if not _documents(operation, status, code, retry_after=True)]
    return problems


def gateway_answer_problems(stack: Stack, openapi: Mapping[str, Any]) -> list[str]:
    """Whatever the REST gateway answers on its own (its gateway responses) is in the product's
    error shape and published by the contract on every route it can answer: the status
    (configured, or the type's default), the error code, and Retry-After where it is sent."""
    if not resources(stack, "aws_api_gateway_rest_api"):
        return []
    problems = []
    responses = _gateway_responses(stack)
    for response_type in sorted(set(GATEWAY_DEFAULT_STATUS) | {"DEFAULT_4XX"}):
        if response_type not in responses:
            problems.append(f"gateway responses: no {response_type} response; the gateway answers it in its own "
                            'shape {"message": ...}')
    for response_type, response in sorted(responses.items()):
        error = _template_error(response)
        if error is None:
            problems.append(f"gateway response {response_type}: body is not the product's error shape")
            continue
        if response_type not in GATEWAY_DEFAULT_STATUS:
            continue
        status = response.get("status_code") or GATEWAY_DEFAULT_STATUS[response_type]
        retry_after = "gatewayresponse.header.Retry-After" in (response.get("response_parameters") or {})
        for method, path, operation in _operations(openapi):
            if response_type in KEYED_ONLY and operation.get("security") == []:
                continue
            if not _documents(operation, status, error["code"], retry_after):
                problems.append(f"{method} {path}: gateway response {response_type} answers {status} "
                                f"{error['code']}{' with Retry-After' if retry_after else ''}, which the contract "
                                "does not list")
    return problems


def authentication_problems(stack: Stack, openapi: Mapping[str, Any]) -> list[str]:
    """Each route asks for exactly what the kind's document says: an API key (REST,
    `api_key_required`) or a SigV4 signature (HTTP, AWS_IAM authorization), or nothing on
    the public routes (OpenAPI `security: []`)."""
    schemes = (openapi.get("components") or {}).get("securitySchemes") or {}
    documented = {(m, p): {name for requirement in op.get("security", [{"?": []}]) for name in requirement}
                  for m, p, op in _operations(openapi)}
    problems = []
    for (method, path), parts in sorted(rest_methods(stack).items()):
        wanted = {n for n in documented.get((method, path), set()) if schemes.get(n, {}).get("in") == "header"
                  and schemes[n].get("name", "").lower() == "x-api-key"}
        if bool(parts["method"].get("api_key_required")) != bool(wanted) or wanted != documented.get((method, path)):
            problems.append(f"{method} {path}: api_key_required {parts['method'].get('api_key_required')}; the "
                            f"document asks for {sorted(documented.get((method, path), set())) or 'nothing'}")
    for route in resources(stack, "aws_apigatewayv2_route").values():
        if route["route_key"] == "$default":
            continue
        method, path = route["route_key"].split(" ", 1)
        names = documented.get((method, path), {"<undocumented>"})
        sigv4 = {n for n in names if schemes.get(n, {}).get("x-amazon-apigateway-authtype") == "awsSigv4"}
        iam = route.get("authorization_type") == "AWS_IAM"
        if iam != bool(sigv4) or (names and not sigv4):
            problems.append(f"{method} {path}: authorization_type {route.get('authorization_type')}; the document "
                            f"asks for {sorted(names) or 'nothing'}")
    return problems


def http_answer_problems(stack: Stack, openapi: Mapping[str, Any], sigv4_headers: Iterable[str],
                         exposed_headers: Iterable[str]) -> list[str]:
    """The HTTP kind serves its document: browsers may send the headers a SigV4 request
    carries and read the headers the function sets (with CORS configured, API Gateway answers
    preflights and sets the CORS headers itself, "Configuring CORS for an HTTP API"), a path
    outside the contract reaches the function (`$default`) for its 404 in the error shape,
    and the gateway's own answers (403 unsigned, 429 throttled, 500 failed invocation; their
    `{"message"}` body cannot be customized) are in the document."""
    apis = list(resources(stack, "aws_apigatewayv2_api").values())
    if not apis:
        return []
    problems = []
    cors = apis[0].get("cors_configuration") or {}
    allowed = {h.lower() for h in cors.get("allow_headers") or []}
    parameters = {p["name"].lower() for _m, _p, op in _operations(openapi) for p in op.get("parameters", [])
                  if p["in"] == "header"}
    for header in sorted({*sigv4_headers, "authorization", "content-type", *parameters} - allowed):
        problems.append(f"HTTP API CORS: {header} is not an allowed header; browsers cannot send it")
    exposed = {h.lower() for h in cors.get("expose_headers") or []}
    declared = {h.lower() for _m, _p, op in _operations(openapi) for r in (op.get("responses") or {}).values()
                for h in (r.get("headers") or {})}
    for header in sorted({h.lower() for h in exposed_headers} | declared - exposed):
        if header not in exposed:
            problems.append(f"HTTP API CORS: {header} is not exposed; browsers cannot read it")
    if not any(r["route_key"] == "$default" for r in resources(stack, "aws_apigatewayv2_route").values()):
        problems.append('HTTP API: no $default route; a path outside the contract is answered 404 {"message": '
                        '"Not Found"} by the gateway, not in the error shape')
    message = {"$ref": "#/components/schemas/GatewayMessage"}
    for method, path, operation in _operations(openapi):
        needed = ["429", "500"] + ([] if operation.get("security") == [] else ["403"])
        for status in needed:
            schema = (((operation.get("responses") or {}).get(status) or {}).get("content") or {}).get(
                "application/json", {}).get("schema") or {}
            if message not in (schema.get("anyOf") or [schema]):
                problems.append(f"{method} {path}: the HTTP API answers {status} "
                                '{"message"} on its own; the document does not say so')
    return problems


# What each rule of the managed rule groups in the web ACL inspects and blocks (AWS WAF
# developer guide, "AWS Managed Rules rule groups list": "Core rule set (CRS) managed rule
# group", "Known bad inputs managed rule group", "Anonymous IP list managed rule group").
# BODY_TEXT: the rule blocks ordinary text in a request body (markup, `../`, URLs, metadata
# addresses, size), which items and job payloads may contain; every other rule refuses a
# request feature, which the document must name (index into the document's x-waf-refusals).
BODY_TEXT = -1
MANAGED_RULE_REFUSALS: dict[str, dict[str, int]] = {
    "AWSManagedRulesCommonRuleSet": {
        "NoUserAgent_HEADER": 0, "UserAgent_BadBots_HEADER": 0,
        "SizeRestrictions_QUERYSTRING": 1, "SizeRestrictions_Cookie_HEADER": 1, "SizeRestrictions_URIPATH": 1,
        "SizeRestrictions_BODY": BODY_TEXT,
        "CrossSiteScripting_COOKIE": 2, "CrossSiteScripting_QUERYARGUMENTS": 2, "CrossSiteScripting_URIPATH": 2,
        "CrossSiteScripting_BODY": BODY_TEXT,
        "EC2MetaDataSSRF_COOKIE": 3, "EC2MetaDataSSRF_URIPATH": 3, "EC2MetaDataSSRF_QUERYARGUMENTS": 3,
        "GenericLFI_QUERYARGUMENTS": 3, "GenericLFI_URIPATH": 3, "GenericRFI_QUERYARGUMENTS": 3,
        "GenericRFI_URIPATH": 3,
        "EC2MetaDataSSRF_BODY": BODY_TEXT, "GenericLFI_BODY": BODY_TEXT, "GenericRFI_BODY": BODY_TEXT,
        "RestrictedExtensions_URIPATH": 4, "RestrictedExtensions_QUERYARGUMENTS": 4,
    },
    # Exploit signatures (Log4j lookups, Java serialized objects) in any part, body included:
    # refused, and named in the document.
    "AWSManagedRulesKnownBadInputsRuleSet": {
        "JavaDeserializationRCE_HEADER": 5, "JavaDeserializationRCE_BODY": 5, "JavaDeserializationRCE_URIPATH": 5,
        "JavaDeserializationRCE_QUERYSTRING": 5, "Host_localhost_HEADER": 5, "PROPFIND_METHOD": 5,
        "ExploitablePaths_URIPATH": 5, "Log4JRCE_HEADER": 5, "Log4JRCE_QUERYSTRING": 5, "Log4JRCE_BODY": 5,
        "Log4JRCE_URIPATH": 5,
    },
    "AWSManagedRulesAnonymousIpList": {"AnonymousIPList": 6, "HostingProviderIPList": 6},
}


def _managed_refusal_problems(rule: Mapping[str, Any], known: Mapping[str, int], refusals: list[str],
                              published: set[str]) -> list[str]:
    """What the blocking rules of one managed group refuse, against the document."""
    group = rule["statement"]["managed_rule_group_statement"]["name"]
    problems = []
    for name, refusal in sorted(known.items()):
        if _managed_override(rule, group, name) != "block":
            continue
        if refusal == BODY_TEXT:
            problems.append(f"web ACL rule {rule['name']}: {name} blocks text the contract accepts in request "
                            "bodies (an item description with markup, ../ or a URL); override it to count")
        elif refusals[refusal] not in published:
            problems.append(f"web ACL rule {rule['name']}: {name} refuses {refusals[refusal]!r}, which the "
                            "document's x-waf-refusals does not list")
    return problems


def waf_refusal_problems(stack: Stack, openapi: Mapping[str, Any], refusals: list[str]) -> list[str]:
    """What the web ACL refuses is what the contract says it refuses: no managed rule blocks
    ordinary text in a body the contract accepts (it must count), every request feature a
    blocking managed rule refuses is listed in the document's x-waf-refusals, and the refusal
    reaches clients as 403 request_refused in the error shape (API Gateway's WAF_FILTERED
    gateway response, for blocks without a custom response: "Gateway response types").

    `refusals`: the catalogue of refusable features (handlers/api/gateway_answers.WAF_REFUSALS),
    which MANAGED_RULE_REFUSALS indexes."""
    acl = _web_acl(stack)
    if acl is None:
        return []
    problems = []
    published = set(openapi.get("x-waf-refusals") or [])
    for rule in acl.get("rule") or []:
        statement = rule.get("statement", {}).get("managed_rule_group_statement")
        if not statement:
            continue
        group = statement["name"]
        known = MANAGED_RULE_REFUSALS.get(group)
        if known is None:
            problems.append(f"web ACL rule {rule['name']}: managed group {group} refuses requests the contract "
                            "cannot name (no entry in MANAGED_RULE_REFUSALS)")
            continue
        if "count" not in (rule.get("override_action") or {}):
            problems += _managed_refusal_problems(rule, known, refusals, published)
    filtered = _gateway_responses(stack).get("WAF_FILTERED")
    error = _template_error(filtered) if filtered else None
    if error is None or error.get("code") != "request_refused":
        problems.append("gateway responses: a managed-rule block is not answered 403 request_refused in the error "
                        "shape (no WAF_FILTERED response)")
    return problems
