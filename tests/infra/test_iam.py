"""IAM proofs: no wildcards beyond a justified allow-list, and every function's role
grants exactly the AWS actions its handler code calls."""

from __future__ import annotations

import json

import pytest

from modules.catalog import FUNCTIONS
from modules.config import WORKSPACES
from modules.function import RUNTIME_WILDCARD_ACTIONS
from modules.permissions import HANDLER_GRANTS
from modules.workflow import LOG_DELIVERY_ACTIONS, TRACING_ACTIONS
from tests.infra.handler_scan import handler_actions

# Actions allowed on Resource "*" because they have no resource-level permissions.
WILDCARD_ALLOW_LIST = {
    **RUNTIME_WILDCARD_ACTIONS,
    **dict.fromkeys(LOG_DELIVERY_ACTIONS, "Step Functions log delivery APIs take no resource"),
    **dict.fromkeys(TRACING_ACTIONS, "X-Ray APIs have no resource-level permissions"),
}


def all_policies(synth):
    for stack in synth.stack_names():
        for path, role_policy in synth.resources(stack, "aws_iam_role_policy").items():
            yield stack, path, json.loads(role_policy["policy"])


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_no_action_wildcards(synth):
    for stack, path, document in all_policies(synth):
        for statement in document["Statement"]:
            for action in as_list(statement["Action"]):
                assert action != "*" and not action.endswith(":*"), f"{stack}/{path}: {action}"


def test_resource_wildcard_only_for_allow_listed_actions(synth):
    for stack, path, document in all_policies(synth):
        for statement in document["Statement"]:
            if "*" in as_list(statement["Resource"]):
                unexpected = set(as_list(statement["Action"])) - set(WILDCARD_ALLOW_LIST)
                assert not unexpected, f"{stack}/{path}: {unexpected} on Resource *"
    assert all(reason for reason in WILDCARD_ALLOW_LIST.values())


def granted_handler_actions(synth, stack: str, function: str) -> set[str]:
    role_policy = synth.resource(stack, "aws_iam_role_policy", f"{function.replace('-', '_')}/policy")
    document = json.loads(role_policy["policy"])
    return {action for statement in document["Statement"] if statement["Sid"].startswith("Handler")
            for action in as_list(statement["Action"])}


@pytest.mark.parametrize("spec", FUNCTIONS, ids=[s.name for s in FUNCTIONS])
def test_role_grants_exactly_what_the_handler_calls(synth, spec):
    called = handler_actions(spec.handler)
    for workspace in WORKSPACES:
        granted = granted_handler_actions(synth, f"{workspace}-app", spec.name)
        assert not called - granted, f"{spec.name}: missing grants {sorted(called - granted)}"
        assert not granted - called, f"{spec.name}: unused grants {sorted(granted - called)}"


def test_scan_sees_real_calls():
    # The scan is what the proof rests on: it must find the obvious calls.
    assert {"dynamodb:PutItem", "dynamodb:Query", "states:StartExecution"} <= handler_actions(
        "handlers.api.app.lambda_handler")
    assert handler_actions("handlers.stream.consumer.lambda_handler") == {"sns:Publish"}
    assert handler_actions("handlers.workflow.validate.lambda_handler") == set()


def test_grants_declared_for_every_function():
    assert set(HANDLER_GRANTS) == {spec.name for spec in FUNCTIONS}


def test_every_function_has_its_own_role(synth):
    for workspace in WORKSPACES:
        roles = synth.resources(f"{workspace}-app", "aws_iam_role")
        assert len({r["name"] for r in roles.values()}) == len(roles)
        functions = synth.resources(f"{workspace}-app", "aws_lambda_function")
        assert len({f["role"] for f in functions.values()}) == len(FUNCTIONS)
