"""Regional WAFv2 web ACL for the API stage: AWS managed common and known-bad-inputs
rule sets, the contract's own body-size limit, a per-IP rate-based rule sized from the
API's throttle, and logging into a CMK-encrypted log group. Blocks answer in the product's
error shape (AWS WAF custom responses take precedence over API Gateway's gateway responses)."""

from __future__ import annotations

import json
import math
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclDefaultActionAllow,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
    Wafv2WebAclLoggingConfigurationRedactedFields,
    Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader,
)
from constructs import Construct

from modules.config import GatewaySettings, WorkspaceSettings

MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                       "AWSManagedRulesAnonymousIpList")
COUNT_ONLY_RULES = {
    # API clients are often servers in a cloud: hosting-provider addresses are counted, not blocked.
    "AWSManagedRulesAnonymousIpList": ["HostingProviderIPList"],
    # SizeRestrictions_BODY blocks bodies over 8 KB, but POST /jobs accepts far more; the
    # contract's own limit is enforced by the body-size rule below instead. The other body
    # rules block markup, `../`, URLs and metadata addresses anywhere in a body ("Core rule
    # set (CRS) managed rule group"), which an item's description or a job's payload may hold:
    # the API stores and returns them as JSON text, never rendered by the API, so they only
    # count. What the ACL still refuses is published in the OpenAPI document (x-waf-refusals,
    # handlers/api/gateway_answers.py) and answered 403 request_refused (WAF_FILTERED).
    "AWSManagedRulesCommonRuleSet": ["SizeRestrictions_BODY", "CrossSiteScripting_BODY", "GenericLFI_BODY",
                                     "GenericRFI_BODY", "EC2MetaDataSSRF_BODY"],
}
# WAF custom response bodies are static, and WAF acts before API Gateway assigns the request
# id, so `request_id` holds this fixed marker: the block is found in the WAF log by time,
# client address and the rule's name.
WAF_REQUEST_ID = "waf-blocked"
# Credentials a request can carry in a header (lowercase, as WAF matches header names).
REDACTED_HEADERS = ("x-api-key", "authorization")


def _visibility(name: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": name, "sampled_requests_enabled": True}


def _error_body(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message, "request_id": WAF_REQUEST_ID}},
                      separators=(",", ":"))


def integers_above(limit: int) -> str:
    """A regular expression matching exactly the decimal integers greater than `limit`
    (leading zeros allowed): every number with more digits, or as many digits and a larger
    digit at the first place where it differs."""
    digits = str(limit)
    alternatives = [f"[1-9][0-9]{{{len(digits)},}}"]
    for index, digit in enumerate(digits):
        if digit != "9":
            rest = len(digits) - index - 1
            alternatives.append(f"{digits[:index]}[{int(digit) + 1}-9]" + (f"[0-9]{{{rest}}}" if rest else ""))
    return "^0*(" + "|".join(alternatives) + ")$"


def rate_limit(api: GatewaySettings) -> int:
    """Requests from one address the rate rule lets through per window: all the API's
    throttle admits in it (many clients can share an address behind a NAT)."""
    return math.ceil(api.throttle_rate_limit * api.waf_rate_window_seconds) + api.throttle_burst_limit


def _block(status: int, body_key: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"response_code": status, "custom_response_body_key": body_key}
    if headers:
        response["response_header"] = [{"name": name, "value": value} for name, value in headers.items()]
    return {"block": {"custom_response": response}}


class RegionalWaf(Construct):
    def __init__(self, scope: Construct, id_: str, *, settings: WorkspaceSettings, kms_key_arn: str,
                 resource_arn: str) -> None:
        super().__init__(scope, id_)
        name = settings.name("api-waf")
        api = settings.api
        rules = self._managed_rules()
        # The contract's body limit, on the Content-Length header: WAF inspects at most 64 KB
        # of an API Gateway body, less than the largest body the contract accepts.
        rules.append({
            "name": "body-size-limit", "priority": len(rules),
            "action": _block(413, "payload_too_large"),
            "statement": {"regex_match_statement": {
                "regex_string": integers_above(api.waf_max_body_bytes),
                "field_to_match": {"single_header": {"name": "content-length"}},
                "text_transformation": [{"priority": 0, "type": "NONE"}]}},
            "visibility_config": _visibility("body-size-limit"),
        })
        rules.append({
            "name": "rate-limit-per-ip", "priority": len(rules),
            # The address is blocked until its rate in the window falls below the limit.
            "action": _block(429, "throttled", {"Retry-After": str(api.waf_rate_window_seconds)}),
            "statement": {"rate_based_statement": {"limit": rate_limit(api), "aggregate_key_type": "IP",
                                                   "evaluation_window_sec": api.waf_rate_window_seconds}},
            "visibility_config": _visibility("rate-limit-per-ip"),
        })
        self.web_acl = Wafv2WebAcl(
            self, "web_acl", name=name, scope="REGIONAL",
            default_action=Wafv2WebAclDefaultAction(allow=Wafv2WebAclDefaultActionAllow()),
            visibility_config=Wafv2WebAclVisibilityConfig(**_visibility(name)))
        # The rule blocks are deeply nested; written as plain Terraform JSON they read as
        # the AWS documentation does.
        self.web_acl.add_override("rule", rules)
        self.web_acl.add_override("custom_response_body", [
            {"key": "payload_too_large", "content_type": "APPLICATION_JSON",
             "content": _error_body("payload_too_large",
                                    f"the request body is larger than {api.waf_max_body_bytes} bytes")},
            {"key": "throttled", "content_type": "APPLICATION_JSON",
             "content": _error_body("throttled", "too many requests from this address; retry after the "
                                                 "Retry-After delay")},
        ])
        # WAF requires log group names to start with aws-waf-logs-.
        log_group = CloudwatchLogGroup(self, "log_group", name=f"aws-waf-logs-{name}",
                                       retention_in_days=settings.log_retention_days, kms_key_id=kms_key_arn)
        # WAF logs carry the request's headers: the client's API key and any signature are
        # redacted, so the log group never holds a credential.
        Wafv2WebAclLoggingConfiguration(
            self, "logging", resource_arn=self.web_acl.arn, log_destination_configs=[log_group.arn],
            redacted_fields=[Wafv2WebAclLoggingConfigurationRedactedFields(
                single_header=Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(name=header))
                for header in REDACTED_HEADERS])
        Wafv2WebAclAssociation(self, "association", resource_arn=resource_arn, web_acl_arn=self.web_acl.arn)

    @staticmethod
    def _managed_rules() -> list[dict[str, Any]]:
        return [
            {
                "name": group, "priority": index,
                "override_action": {"none": {}},
                "statement": {"managed_rule_group_statement": {
                    "name": group, "vendor_name": "AWS",
                    "rule_action_override": [{"name": rule, "action_to_use": {"count": {}}}
                                             for rule in COUNT_ONLY_RULES.get(group, [])]}},
                "visibility_config": _visibility(group),
            }
            for index, group in enumerate(MANAGED_RULE_GROUPS)
        ]
