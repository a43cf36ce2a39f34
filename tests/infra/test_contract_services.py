"""What AWS services do on the product's behalf (tests/infra/contract/service_rules.py):
each rule holds on the real synth of every workspace (both API kinds) and names the problem
on a deliberately broken copy."""

from __future__ import annotations

import json

import pytest

from modules.catalog import FUNCTIONS
from tests.infra.contract import service_rules
from tests.infra.handler_scan import handler_actions
from tests.infra.synthesized import copied_stacks

# Every IAM prefix the handlers' own code calls (all functions run in the VPC where there is one).
CALLED_PREFIXES = {action.split(":", 1)[0] for spec in FUNCTIONS for action in handler_actions(spec.handler)}


@pytest.mark.parametrize("kind", ["synth", "synth_http"])
def test_eventbridge_can_write_to_the_encrypted_dead_letter_queues(request, kind):
    assert service_rules.dead_letter_key_problems(copied_stacks(request.getfixturevalue(kind))) == []


def test_the_rule_reports_eventbridge_bound_by_a_source_account(synth):
    # Given the key policy as it was: EventBridge among the services bound by aws:SourceAccount
    stacks = copied_stacks(synth)
    [key] = stacks["prod-security"]["resource"]["aws_kms_key"].values()
    document = json.loads(key["policy"])
    document["Statement"] = [s for s in document["Statement"] if s["Sid"] != "EventBridgeDeadLetterQueues"]
    services = next(s for s in document["Statement"] if s["Sid"] == "ServicesOfThisAccount")
    services["Principal"]["Service"].append("events.amazonaws.com")
    key["policy"] = json.dumps(document)
    assert service_rules.dead_letter_key_problems(stacks) == [
        "prod-security: the key policy lets events.amazonaws.com use the key only under aws:sourceaccount, which "
        "EventBridge's deliveries do not carry; the encrypted dead-letter queues "
        "serverless-app-prod-execution-ended-dlq, serverless-app-prod-schedule-dlq never receive an event"]


def test_interface_endpoints_are_the_services_the_handlers_call(synth):
    called = CALLED_PREFIXES - service_rules.GATEWAY_SERVICES
    assert called == {"sns", "states", "lambda", "codedeploy"}
    assert service_rules.interface_endpoint_problems(copied_stacks(synth), CALLED_PREFIXES) == []


def test_the_rule_reports_endpoints_nothing_calls_through(synth):
    # Given prod's endpoints as they were: logs, KMS, SQS and X-Ray, which the Lambda service calls
    stacks = copied_stacks(synth)
    endpoints = stacks["prod-network"]["resource"]["aws_vpc_endpoint"]
    template = next(e for e in endpoints.values() if e["service_name"].endswith(".sns"))
    for service in ("xray", "logs", "sqs", "kms"):
        endpoints[f"{service}_endpoint"] = {**template, "service_name": f"com.amazonaws.us-west-2.{service}"}
    del endpoints[next(k for k, e in endpoints.items() if e["service_name"].endswith(".codedeploy"))]
    assert service_rules.interface_endpoint_problems(stacks, CALLED_PREFIXES) == [
        f"prod-network: interface endpoint {s} carries no call of the handlers (billed per zone and hour for nothing)"
        for s in ("kms", "logs", "sqs", "xray")] + [
        "prod-network: no interface endpoint for codedeploy, which the handlers call"]
