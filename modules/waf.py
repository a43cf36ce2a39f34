"""Regional WAFv2 web ACL for the API stage: AWS managed common and known-bad-inputs
rule sets, a per-IP rate-based rule, and logging into a CMK-encrypted log group."""

from __future__ import annotations

from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclDefaultActionAllow,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import Wafv2WebAclLoggingConfiguration
from constructs import Construct

from modules.config import WorkspaceSettings

MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                       "AWSManagedRulesAnonymousIpList")
# API clients are often servers in a cloud: hosting-provider addresses are counted, not blocked.
COUNT_ONLY_RULES = {"AWSManagedRulesAnonymousIpList": ["HostingProviderIPList"]}


def _visibility(name: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": name, "sampled_requests_enabled": True}


class RegionalWaf(Construct):
    def __init__(self, scope: Construct, id_: str, *, settings: WorkspaceSettings, kms_key_arn: str,
                 resource_arn: str) -> None:
        super().__init__(scope, id_)
        name = settings.name("api-waf")
        rules: list[dict[str, Any]] = [
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
        rules.append({
            "name": "rate-limit-per-ip", "priority": len(rules),
            "action": {"block": {}},
            "statement": {"rate_based_statement": {"limit": settings.api.waf_rate_limit_per_5_minutes,
                                                   "aggregate_key_type": "IP"}},
            "visibility_config": _visibility("rate-limit-per-ip"),
        })
        self.web_acl = Wafv2WebAcl(
            self, "web_acl", name=name, scope="REGIONAL",
            default_action=Wafv2WebAclDefaultAction(allow=Wafv2WebAclDefaultActionAllow()),
            visibility_config=Wafv2WebAclVisibilityConfig(**_visibility(name)))
        # The rule blocks are deeply nested; written as plain Terraform JSON they read as
        # the AWS documentation does.
        self.web_acl.add_override("rule", rules)
        # WAF requires log group names to start with aws-waf-logs-.
        log_group = CloudwatchLogGroup(self, "log_group", name=f"aws-waf-logs-{name}",
                                       retention_in_days=settings.log_retention_days, kms_key_id=kms_key_arn)
        Wafv2WebAclLoggingConfiguration(self, "logging", resource_arn=self.web_acl.arn,
                                        log_destination_configs=[log_group.arn])
        Wafv2WebAclAssociation(self, "association", resource_arn=resource_arn, web_acl_arn=self.web_acl.arn)
