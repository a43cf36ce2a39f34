"""Rollout contract (tests/infra/contract/rollout_rules.py): aliases handed to CodeDeploy,
groups rolling back on their own function's alarms, canaries that outlast the alarms, and
environments within Lambda's 4 KB. Each rule holds on every workspace's real synth and reports
its problem on a broken copy."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.infra.contract import rollout_rules
from tests.infra.synthesized import Synthesized


def all_stacks(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {name: copy.deepcopy(synth.stack(name)) for name in synth.stack_names()}


def group(stacks: dict[str, dict[str, Any]], stack: str, name: str) -> dict[str, Any]:
    return next(g for g in stacks[stack]["resource"]["aws_codedeploy_deployment_group"].values()
                if g["deployment_group_name"] == name)


@pytest.mark.parametrize("kind", ["synth", "synth_http"])
@pytest.mark.parametrize("rule", rollout_rules.RULES, ids=lambda rule: rule.__name__)
def test_the_synthesized_stacks_keep_the_rollout_contract(request, kind, rule):
    assert rule(all_stacks(request.getfixturevalue(kind))) == []


def test_an_alias_terraform_still_moves_is_reported(synth):
    stacks = all_stacks(synth)
    alias = next(a for a in stacks["prod-app"]["resource"]["aws_lambda_alias"].values()
                 if "api_function" in a["function_name"])
    alias.pop("lifecycle")
    assert rollout_rules.aliases_not_handed_to_codedeploy(stacks) == [
        "prod-app: alias of serverless-app-prod-api is deployed by CodeDeploy but Terraform still sets "
        "['function_version', 'routing_config']"]


def test_a_function_without_deployment_group_is_reported(synth):
    stacks = all_stacks(synth)
    groups = stacks["dev-app"]["resource"]["aws_codedeploy_deployment_group"]
    del groups[next(k for k, g in groups.items() if g["deployment_group_name"] == "serverless-app-dev-digest")]
    assert rollout_rules.aliases_not_handed_to_codedeploy(stacks) == [
        "dev-app: alias of serverless-app-dev-digest ignores its version but no deployment group moves it",
        "dev-app: serverless-app-dev-digest has no deployment group: its new versions would skip the pre-traffic "
        "check and the rollback alarms"]


def test_a_missing_or_foreign_rollback_alarm_is_reported(synth):
    stacks = all_stacks(synth)
    api = group(stacks, "staging-app", "serverless-app-staging-api")
    api["alarm_configuration"]["alarms"] = ["serverless-app-staging-api-errors", "serverless-app-staging-gone",
                                            "serverless-app-staging-validate-duration-p99"]
    assert rollout_rules.groups_without_their_rollback_alarms(stacks) == [
        "staging-app: deployment group serverless-app-staging-api rolls back on alarm serverless-app-staging-gone, "
        "which the observability stack does not create",
        "staging-app: deployment group serverless-app-staging-api has no rollback alarm on its function's Duration"]


def test_a_group_without_rollback_on_alarm_is_reported(synth):
    stacks = all_stacks(synth)
    group(stacks, "prod-app", "serverless-app-prod-notify")["auto_rollback_configuration"]["events"] = [
        "DEPLOYMENT_FAILURE"]
    assert rollout_rules.groups_without_their_rollback_alarms(stacks) == [
        "prod-app: deployment group serverless-app-prod-notify does not roll back on "
        "['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM']"]


def test_a_canary_shorter_than_its_alarms_is_reported(synth):
    stacks = all_stacks(synth)
    group(stacks, "prod-app", "serverless-app-prod-api")["deployment_config_name"] = (
        "CodeDeployDefault.LambdaCanary10Percent5Minutes")
    problems = rollout_rules.rollouts_ending_before_their_alarms_fire(stacks)
    assert problems[0] == ("prod-app: deployment group serverless-app-prod-api (Canary10Percent5Minutes) makes its "
                           "last shift after 5 min, before alarm serverless-app-prod-api-errors can fire (15 min)")
    assert len(problems) == 3  # errors (2 periods), duration and 5XX (1 period each: 10 min)


def test_an_environment_over_4_kb_is_reported(synth):
    stacks = all_stacks(synth)
    hook = next(f for f in stacks["dev-app"]["resource"]["aws_lambda_function"].values()
                if f["function_name"].endswith("-pre-traffic"))
    checks = json.loads(hook["environment"]["variables"]["SMOKE_CHECKS"])
    checks.update({f"extra-{n}": checks["serverless-app-dev-api"] for n in range(8)})
    hook["environment"]["variables"]["SMOKE_CHECKS"] = json.dumps(checks)
    [problem] = rollout_rules.environments_over_the_lambda_limit(stacks)
    assert problem.startswith("dev-app: serverless-app-dev-pre-traffic has ") and problem.endswith(
        "bytes of environment variables; Lambda allows 4096")


def test_snapstart_versions_the_rollout_does_not_prune_are_reported(synth):
    # Given SnapStart switched on for the hook, whose versions the rollout does not prune
    stacks = all_stacks(synth)
    hook = next(f for f in stacks["prod-app"]["resource"]["aws_lambda_function"].values()
                if f["function_name"].endswith("-pre-traffic"))
    hook["snap_start"] = {"apply_on": "PublishedVersions"}
    assert rollout_rules.snapstart_versions_never_pruned(stacks) == [
        "prod-app: serverless-app-prod-pre-traffic publishes SnapStart versions the rollout never deletes; their "
        "snapshot charges grow with every deploy"]
