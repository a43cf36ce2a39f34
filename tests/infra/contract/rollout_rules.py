"""Contract rules for safe rollouts, which only a real account acts on: CodeDeploy moving each
function's `live` alias, rolling back on the alarms, and Lambda's limits on what a deployment
may carry.

Pure functions over the synthesized stacks (`{stack name: cdk.tf.json}`), one problem string per
broken setting; the AWS behaviour each relies on is cited next to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from modules.config import ALARM_PERIOD_SECONDS, DEPLOYMENT_PREFERENCES, bake_minutes

Stacks = Mapping[str, dict[str, Any]]
IGNORED_BY_TERRAFORM = {"function_version", "routing_config"}
# CodeDeploy's Lambda deployments: blue/green with traffic control (AWS CodeDeploy API
# reference, DeploymentStyle: "For AWS Lambda ... only BLUE_GREEN with WITH_TRAFFIC_CONTROL").
LAMBDA_STYLE = {"deployment_type": "BLUE_GREEN", "deployment_option": "WITH_TRAFFIC_CONTROL"}
REQUIRED_ROLLBACK_EVENTS = {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"}
# AWS Lambda quotas: "Function environment variables: 4 KB, for all environment variables
# associated with the function, in aggregate". A Terraform reference resolves to an ARN or a
# name; 256 characters bounds every one this product references.
ENVIRONMENT_LIMIT_BYTES = 4096
REFERENCE_BOUND = 256
_REFERENCE = re.compile(r"\$\{[^}]*\}")


def _resources(stack: dict[str, Any], rtype: str) -> Iterator[dict[str, Any]]:
    yield from stack.get("resource", {}).get(rtype, {}).values()


def _app_stacks(stacks: Stacks) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from ((name, stack) for name, stack in sorted(stacks.items()) if name.endswith("-app"))


def _function_names(stack: dict[str, Any]) -> dict[str, str]:
    """Terraform reference of each function's name -> its literal name."""
    return {f"${{aws_lambda_function.{fid}.function_name}}": str(fn["function_name"])
            for fid, fn in stack.get("resource", {}).get("aws_lambda_function", {}).items()}


def aliases_not_handed_to_codedeploy(stacks: Stacks) -> list[str]:
    """Every function but the hook has a deployment group named like it, and exactly the
    aliases of those functions leave version and routing to CodeDeploy: an alias Terraform
    still moves would fight CodeDeploy on every plan (and jump to 100 % at once), an alias no
    group deploys would never move again."""
    problems = []
    for name, stack in _app_stacks(stacks):
        groups = {str(g["deployment_group_name"]) for g in _resources(stack, "aws_codedeploy_deployment_group")}
        functions = _function_names(stack)
        for alias in _resources(stack, "aws_lambda_alias"):
            function = functions.get(str(alias["function_name"]), str(alias["function_name"]))
            ignored = set(alias.get("lifecycle", {}).get("ignore_changes", []))
            if function in groups and not ignored >= IGNORED_BY_TERRAFORM:
                problems.append(f"{name}: alias of {function} is deployed by CodeDeploy but Terraform still sets "
                                f"{sorted(IGNORED_BY_TERRAFORM - ignored)}")
            if function not in groups and ignored & IGNORED_BY_TERRAFORM and not function.endswith("-pre-traffic"):
                problems.append(f"{name}: alias of {function} ignores its version but no deployment group moves it")
            if function not in groups and not function.endswith("-pre-traffic"):
                problems.append(f"{name}: {function} has no deployment group: its new versions would skip the "
                                "pre-traffic check and the rollback alarms")
    return problems


def _alarms(stacks: Stacks, workspace: str) -> dict[str, dict[str, Any]]:
    stack = stacks.get(f"{workspace}-observability", {})
    return {str(a["alarm_name"]): a for a in _resources(stack, "aws_cloudwatch_metric_alarm")}


def groups_without_their_rollback_alarms(stacks: Stacks) -> list[str]:
    """Every group rolls back on failure and on alarm, and its alarms exist in the workspace's
    observability stack and watch its own function: the errors and p99 duration of that
    function (AWS/Lambda, FunctionName). CodeDeploy names alarms by name only; an alarm it
    cannot find protects nothing."""
    problems = []
    for name, stack in _app_stacks(stacks):
        alarms = _alarms(stacks, name.removesuffix("-app"))
        for group in _resources(stack, "aws_codedeploy_deployment_group"):
            label = f"{name}: deployment group {group['deployment_group_name']}"
            rollback = group.get("auto_rollback_configuration", {})
            if rollback.get("enabled") is not True or not set(rollback.get("events", [])) >= REQUIRED_ROLLBACK_EVENTS:
                problems.append(f"{label} does not roll back on {sorted(REQUIRED_ROLLBACK_EVENTS)}")
            if {k: group.get("deployment_style", {}).get(k) for k in LAMBDA_STYLE} != LAMBDA_STYLE:
                problems.append(f"{label} has deployment_style {group.get('deployment_style')}; Lambda needs "
                                f"{LAMBDA_STYLE}")
            configuration = group.get("alarm_configuration", {})
            if configuration.get("enabled") is not True:
                problems.append(f"{label} has its alarm configuration disabled")
            named = [str(a) for a in configuration.get("alarms", [])]
            for alarm in named:
                if alarm not in alarms:
                    problems.append(f"{label} rolls back on alarm {alarm}, which the observability stack does not "
                                    "create")
            watched = {(alarms[a].get("metric_name"), alarms[a].get("dimensions", {}).get("FunctionName"))
                       for a in named if a in alarms}
            for metric in ("Errors", "Duration"):
                if (metric, group["deployment_group_name"]) not in watched:
                    problems.append(f"{label} has no rollback alarm on its function's {metric}")
    return problems


def rollouts_ending_before_their_alarms_fire(stacks: Stacks) -> list[str]:
    """CodeDeploy stops and rolls back on alarm only while the deployment runs: a canary or
    linear configuration must make its last shift no sooner than the slowest of its alarms can
    fire (evaluation periods x period, plus one period to the next period boundary)."""
    problems = []
    for name, stack in _app_stacks(stacks):
        alarms = _alarms(stacks, name.removesuffix("-app"))
        for group in _resources(stack, "aws_codedeploy_deployment_group"):
            config = str(group.get("deployment_config_name", ""))
            preference = config.removeprefix("CodeDeployDefault.Lambda")
            if preference not in DEPLOYMENT_PREFERENCES:
                problems.append(f"{name}: deployment group {group['deployment_group_name']} uses {config}, not a "
                                "predefined Lambda configuration")
                continue
            if preference == "AllAtOnce":
                continue
            bake = bake_minutes(preference) * 60
            for alarm in group.get("alarm_configuration", {}).get("alarms", []):
                config_of = alarms.get(str(alarm), {})
                needed = (int(config_of.get("evaluation_periods", 1)) + 1) * int(
                    config_of.get("period", ALARM_PERIOD_SECONDS))
                if bake < needed:
                    problems.append(f"{name}: deployment group {group['deployment_group_name']} ({preference}) "
                                    f"makes its last shift after {bake // 60} min, before alarm {alarm} can fire "
                                    f"({needed // 60} min)")
    return problems


def environments_over_the_lambda_limit(stacks: Stacks) -> list[str]:
    """Lambda refuses a function whose environment variables exceed 4 KB in aggregate; the
    pre-traffic hook's SMOKE_CHECKS grows with every function."""
    problems = []
    for name, stack in _app_stacks(stacks):
        for function in _resources(stack, "aws_lambda_function"):
            variables = (function.get("environment") or {}).get("variables", {})
            size = sum(len(key.encode()) + len(_REFERENCE.sub("x" * REFERENCE_BOUND, str(value)).encode())
                       for key, value in variables.items())
            if size > ENVIRONMENT_LIMIT_BYTES:
                problems.append(f"{name}: {function['function_name']} has {size} bytes of environment variables; "
                                f"Lambda allows {ENVIRONMENT_LIMIT_BYTES}")
    return problems


def snapstart_versions_never_pruned(stacks: Stacks) -> list[str]:
    """Every function published with SnapStart has its old versions deleted by the rollout
    (delivery/rollout.py, `prune`). Lambda keeps every published version until it is deleted,
    and for Python each SnapStart version is billed for caching its snapshot for as long as
    it exists, and for each restore (AWS Lambda developer guide, "Improving startup
    performance with Lambda SnapStart", pricing): `publish` with CodeDeploy adds a version
    on every code change, so without pruning the charge grows with every deploy."""
    from delivery.rollout import pruned

    names = {spec.name for spec in pruned()}
    problems = []
    for name, stack in _app_stacks(stacks):
        prefix = f"serverless-app-{name.removesuffix('-app')}-"
        for function in _resources(stack, "aws_lambda_function"):
            if not function.get("snap_start"):
                continue
            short = str(function["function_name"]).removeprefix(prefix)
            if short not in names:
                problems.append(f"{name}: {function['function_name']} publishes SnapStart versions the rollout never "
                                "deletes; their snapshot charges grow with every deploy")
    return problems


RULES = (aliases_not_handed_to_codedeploy, groups_without_their_rollback_alarms,
         rollouts_ending_before_their_alarms_fire, environments_over_the_lambda_limit, snapstart_versions_never_pruned)

