"""What clients get from in front of the function: the answers each API kind's gateway (and,
where the API has one, its web ACL) gives on its own, as the exported OpenAPI document
publishes them. Standard library only: the infrastructure (modules/api_rest.py) and the
contract rules (tests/infra/contract/api_rules.py) read the same catalogue.

REST kind: every gateway answer is configured in the product's error shape (gateway
responses, WAF custom responses). HTTP kind: HTTP APIs cannot customize their own answers,
so those keep API Gateway's `{"message": ...}` body, and the HTTP document says so.
"""

from __future__ import annotations

from dataclasses import dataclass

# Security schemes of each kind (OpenAPI `components.securitySchemes`).
API_KEY_SCHEME = "api_key"
SIGV4_SCHEME = "sigv4"
SECURITY_SCHEMES = {
    "rest": {API_KEY_SCHEME: {"type": "apiKey", "in": "header", "name": "x-api-key"}},
    # API Gateway's own notation for IAM authorization in an OpenAPI document
    # ("x-amazon-apigateway-authtype": "awsSigv4").
    "http": {SIGV4_SCHEME: {"type": "apiKey", "in": "header", "name": "Authorization",
                            "x-amazon-apigateway-authtype": "awsSigv4"}},
}
# Headers a SigV4-signed browser request carries besides Authorization (AWS "Signature
# Version 4 signing process": X-Amz-Date; X-Amz-Security-Token with temporary credentials;
# X-Amz-Content-Sha256 where the payload hash is sent).
SIGV4_HEADERS = ("x-amz-date", "x-amz-security-token", "x-amz-content-sha256")
# Headers the function sets that a browser may read (handlers/api/resolver.py EXPOSED_HEADERS).
EXPOSED_HEADERS = ("Location", "Retry-After")


@dataclass(frozen=True)
class GatewayAnswer:
    """One answer the gateway gives without the function: status, the product's error code
    (None: the gateway's own `{"message"}` body), when it happens, and whether public routes
    (GET /health) can get it."""

    status: int
    code: str | None
    description: str
    public_routes: bool = True
    retry_after: bool = False


REST_ANSWERS: tuple[GatewayAnswer, ...] = (
    GatewayAnswer(403, "forbidden", "the x-api-key header is missing or not a key of this API", public_routes=False),
    GatewayAnswer(403, "request_refused", "refused by the API's web ACL (workspaces with WAF, e.g. prod): see "
                                          "x-waf-refusals"),
    GatewayAnswer(413, "payload_too_large", "the request body is larger than the API accepts"),
    GatewayAnswer(429, "throttled", "the API's or this client's throttle, or the web ACL's per-address rate; retry "
                                    "after Retry-After", retry_after=True),
    GatewayAnswer(429, "quota_exceeded", "this client's usage plan quota is used up", public_routes=False),
    # AWS Lambda developer guide, "Handling Lambda errors with an API Gateway API": when the
    # Lambda API rejects the invocation (a throttle included), API Gateway returns 500.
    GatewayAnswer(500, "service_unavailable", "the function could not be invoked (Lambda throttled or rejected "
                                              "the invocation); retry after Retry-After", retry_after=True),
    GatewayAnswer(500, "gateway_error", "the API gateway could not process the request"),
    GatewayAnswer(503, "service_unavailable", "the integration with the function failed; retry after Retry-After",
                  retry_after=True),
    GatewayAnswer(504, "gateway_timeout", "the function did not answer within the API's integration timeout"),
)
# HTTP APIs answer these themselves, body `{"message": ...}` (AWS "Working with HTTP APIs";
# "Troubleshooting issues with HTTP API Lambda integrations"; "Throttling requests to your
# HTTP API"). Unknown routes reach the function through `$default` and get its 404.
HTTP_ANSWERS: tuple[GatewayAnswer, ...] = (
    GatewayAnswer(403, None, "the request is not signed (SigV4) by a principal allowed to call the API",
                  public_routes=False),
    GatewayAnswer(413, None, "the request is larger than API Gateway's 10 MB payload limit"),
    GatewayAnswer(429, None, "the route's throttle"),
    GatewayAnswer(500, None, "the function could not be invoked (a Lambda throttle included) or failed"),
    GatewayAnswer(503, None, "the integration timed out or is unavailable"),
)
ANSWERS = {"rest": REST_ANSWERS, "http": HTTP_ANSWERS}

# What a web ACL in front of the REST kind refuses (403 request_refused), each a request
# feature the contract does not need. Request bodies are not inspected for content: the
# API stores and returns text in JSON (never rendered as HTML by the API), so markup, paths
# and URLs in an item description are data the contract accepts.
WAF_REFUSALS: tuple[str, ...] = (
    "no User-Agent header, or the User-Agent of a known bad bot",
    "a query string over 2048 bytes, a URI path over 1024 bytes or a Cookie header over 10240 bytes",
    "markup (cross-site scripting patterns) in the URI path, query string or cookies",
    "path traversal (../), remote file inclusion (URLs) or EC2 metadata addresses in the URI path, query string "
    "or cookies",
    "file extensions such as .log, .ini or .bak in the URI path or query string",
    "request patterns of known exploits (Log4j, Java deserialization, localhost Host header)",
    "source addresses on AWS's anonymous-IP lists (anonymizers, VPNs, Tor)",
)
