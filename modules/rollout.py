"""Names shared by the CodeDeploy resources (modules/codedeploy.py), the alarms they roll back
on (modules/observability.py) and `make rollout` (delivery/rollout.py). No provider bindings
here: the rollout command imports this module, and loading the bindings costs seconds."""

from __future__ import annotations

from modules.catalog import FUNCTIONS, DeploymentHookTrigger, FunctionSpec
from modules.config import ROLLBACK_ALARM_RULES, WorkspaceSettings

API_5XX_ALARM_ID = "api_5xx"  # the API's (not a function's) 5XX alarm
# AlarmSettings field -> the alarm id observability gives it, for one function (`{key}`: the
# function's construct id) or the API.
_ALARM_IDS: dict[str, str] = {
    "function_errors": "{key}_errors",
    "function_duration_p99": "{key}_duration_p99",
    "api_5xx": API_5XX_ALARM_ID,
}


def function_alarm_id(spec: FunctionSpec, rule: str) -> str:
    """The Terraform id of one alarm of a function, e.g. `api_errors`, `api_5xx`."""
    return _ALARM_IDS[rule].format(key=spec.construct_id)


def alarm_name(settings: WorkspaceSettings, alarm_id: str) -> str:
    """The CloudWatch name of an alarm: `{project}-{workspace}-api-errors`."""
    return settings.name(alarm_id.replace("_", "-"))


def rollback_alarm_names(settings: WorkspaceSettings, spec: FunctionSpec) -> list[str]:
    """The alarms that stop a deployment of this function and roll it back."""
    return [alarm_name(settings, function_alarm_id(spec, rule)) for rule in ROLLBACK_ALARM_RULES[spec.kind]]


def application_name(settings: WorkspaceSettings) -> str:
    """The workspace's CodeDeploy application (compute platform Lambda)."""
    return settings.name("functions")


def deployment_group_name(settings: WorkspaceSettings, spec: FunctionSpec) -> str:
    """One deployment group per function, named like the function."""
    return settings.name(spec.name)


def hook_function(functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> FunctionSpec:
    """The pre-traffic hook (exactly one per catalog)."""
    [hook] = [spec for spec in functions if isinstance(spec.trigger, DeploymentHookTrigger)]
    return hook

