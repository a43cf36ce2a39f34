"""CodeDeploy: what local mode adds to and changes in moto's CodeDeploy (written against moto 5.2.5).

moto stores applications, groups and deployments but lacks six operations the Terraform AWS provider or a
hook calls, answers ``{}`` for a group's alarmConfiguration and a deployment's errorInformation and
rollbackInfo, and leaves every deployment ``Created``. The operations are response methods in moto's style,
answered as AWS answers them (AWS's errors; deleting what does not exist succeeds, as the API lists no such
error); carrying out Lambda deployments is the job of the :class:`Deployments` given to :func:`install`
(:mod:`localmode.codedeploy`). An accommodation AWS never needs: the provider builds the ARN it tags by
from an account ID it does not look up in local mode (``arn:aws:codedeploy:<region>::application:<name>``);
an ARN without an account is read as the caller's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

import moto.codedeploy.responses as moto_responses
from moto.codedeploy.exceptions import (
    ApplicationAlreadyExistsException,
    CodeDeployException,
    DeploymentGroupAlreadyExistsException,
)
from moto.codedeploy.models import CodeDeployBackend, DeploymentGroup, DeploymentInfo
from moto.codedeploy.responses import CodeDeployResponse
from moto.core.responses import ActionResult, EmptyResult

from localmode.moto_patches.patch import Patch, PatchSet

TERMINAL_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})
# UpdateDeploymentGroup parameters that set the moto DeploymentGroup attribute of the same (snake_case) name.
_GROUP_SETTINGS = ("deploymentConfigName", "serviceRoleArn", "alarmConfiguration", "autoRollbackConfiguration",
                   "deploymentStyle", "blueGreenDeploymentConfiguration", "loadBalancerInfo", "ec2TagFilters",
                   "ec2TagSet", "onPremisesInstanceTagFilters", "onPremisesTagSet", "autoScalingGroups",
                   "triggerConfigurations", "outdatedInstancesStrategy", "ecsServices", "terminationHookEnabled")


class Deployments(Protocol):
    """What carries out Lambda deployments (:class:`localmode.codedeploy.LambdaDeployments`)."""

    def submit(self, backend: CodeDeployBackend, deployment: DeploymentInfo) -> None:
        """Take a created Lambda deployment."""

    def report(self, deployment_id: str, execution_id: str, status: str) -> tuple[str, str] | None:
        """Record a hook's report; the AWS error (type, message) when it is refused."""

    def request_stop(self, deployment_id: str, auto_rollback: bool | None) -> None:
        """Ask a running Lambda deployment to stop (``auto_rollback``: StopDeployment's autoRollbackEnabled)."""


class CodeDeployError(CodeDeployException):
    """An error of the CodeDeploy API that moto does not define (HTTP 400, AWS's type name)."""

    code = 400


def alarm_configuration(value: Any) -> dict[str, Any]:
    """An alarm configuration as AWS answers it: ``enabled``, ``ignorePollAlarmFailure``, ``alarms``."""
    value = value if isinstance(value, dict) else {}
    alarms = [{"name": str(alarm["name"])} for alarm in value.get("alarms") or []
              if isinstance(alarm, dict) and alarm.get("name")]
    return {"enabled": bool(value.get("enabled", False)),
            "ignorePollAlarmFailure": bool(value.get("ignorePollAlarmFailure", False)), "alarms": alarms}


def _arn(backend: CodeDeployBackend, resource: str) -> str:
    return f"arn:{backend.partition}:codedeploy:{backend.region_name}:{backend.account_id}:{resource}"


def _move_tags(backend: CodeDeployBackend, old_resource: str, new_resource: str) -> None:
    backend.tagger.copy_tags(_arn(backend, old_resource), _arn(backend, new_resource))
    backend.tagger.delete_all_tags_for_resource(_arn(backend, old_resource))


def update_application(self: CodeDeployResponse) -> EmptyResult:
    """UpdateApplication: the provider renames an application in place."""
    backend = self.codedeploy_backend
    old, new = self._get_param("applicationName"), self._get_param("newApplicationName")
    application = backend.get_application(old)
    if new and new != old:
        if new in backend.applications:
            raise ApplicationAlreadyExistsException(
                f"The application {new} already exists with the user or AWS account.")
        application.application_name = new
        backend.applications[new] = backend.applications.pop(old)
        backend.deployment_groups[new] = backend.deployment_groups.pop(old, {})
        _move_tags(backend, f"application:{old}", f"application:{new}")
        for group in backend.deployment_groups[new]:  # a group's ARN names its application
            _move_tags(backend, f"deploymentgroup:{old}/{group}", f"deploymentgroup:{new}/{group}")
    return EmptyResult()


def delete_application(self: CodeDeployResponse) -> EmptyResult:
    """DeleteApplication, with its deployment groups (and their tags)."""
    backend, name = self.codedeploy_backend, self._get_param("applicationName")
    for group in list(backend.deployment_groups.pop(name, {})):
        backend.tagger.delete_all_tags_for_resource(_arn(backend, f"deploymentgroup:{name}/{group}"))
    if backend.applications.pop(name, None) is not None:
        backend.tagger.delete_all_tags_for_resource(_arn(backend, f"application:{name}"))
    return EmptyResult()


def update_deployment_group(self: CodeDeployResponse) -> ActionResult:
    """UpdateDeploymentGroup: a parameter left out keeps its value; a new name renames the group."""
    backend, application = self.codedeploy_backend, self._get_param("applicationName")
    current, new = self._get_param("currentDeploymentGroupName"), self._get_param("newDeploymentGroupName")
    group: DeploymentGroup = backend.get_deployment_group(application, current)  # AWS's errors when missing
    for parameter in _GROUP_SETTINGS:
        value = self._get_param(parameter)
        if value is not None:
            setattr(group, re.sub(r"(?<!^)(?=[A-Z])", "_", parameter).lower(), value)
    if new and new != current:
        groups = backend.deployment_groups[application]
        if new in groups:
            raise DeploymentGroupAlreadyExistsException(f"Deployment group {new} already exists.")
        group.deployment_group_name = new
        groups[new] = groups.pop(current)
        _move_tags(backend, f"deploymentgroup:{application}/{current}", f"deploymentgroup:{application}/{new}")
    return ActionResult({"hooksNotCleanedUp": []})


def delete_deployment_group(self: CodeDeployResponse) -> ActionResult:
    """DeleteDeploymentGroup, with its tags."""
    backend, application = self.codedeploy_backend, self._get_param("applicationName")
    name = self._get_param("deploymentGroupName")
    if backend.deployment_groups.get(application, {}).pop(name, None) is not None:
        backend.tagger.delete_all_tags_for_resource(_arn(backend, f"deploymentgroup:{application}/{name}"))
    return ActionResult({"hooksNotCleanedUp": []})


def _deployment_operations(deployments: Deployments) -> tuple[Callable[..., Any], Callable[..., Any]]:
    def put_lifecycle_event_hook_execution_status(self: CodeDeployResponse) -> ActionResult:
        deployment_id = self._get_param("deploymentId")
        if not deployment_id:
            raise CodeDeployError("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
        self.codedeploy_backend.get_deployment(deployment_id)  # DeploymentDoesNotExistException
        execution_id = self._get_param("lifecycleEventHookExecutionId") or ""
        problem = deployments.report(deployment_id, execution_id, self._get_param("status") or "")
        if problem is not None:
            raise CodeDeployError(*problem)
        return ActionResult({"lifecycleEventHookExecutionId": execution_id})

    def stop_deployment(self: CodeDeployResponse) -> ActionResult:
        deployment = self.codedeploy_backend.get_deployment(self._get_param("deploymentId"))
        if deployment.status in TERMINAL_STATUSES:
            raise CodeDeployError("DeploymentAlreadyCompletedException",
                                  f"The deployment {deployment.deployment_id} has already completed.")
        if deployment.application.compute_platform != "Lambda":
            raise CodeDeployError("UnsupportedActionForDeploymentTypeException",
                                  "The emulator stops Lambda deployments only (it runs no other).")
        auto_rollback = self._get_param("autoRollbackEnabled")
        deployments.request_stop(deployment.deployment_id, None if auto_rollback is None else bool(auto_rollback))
        return ActionResult({"status": "Pending", "statusMessage": "Stopping Pending. Stopping the deployment."})

    return put_lifecycle_event_hook_execution_status, stop_deployment


def _added(operation: str, why: str) -> Patch:
    return Patch(f"codedeploy.{operation}", CodeDeployResponse, operation, "adds", None, why)


UPDATE_APPLICATION = _added("update_application", "UpdateApplication (the provider renames in place)")
DELETE_APPLICATION = _added("delete_application", "DeleteApplication, with its groups and tags")
UPDATE_DEPLOYMENT_GROUP = _added("update_deployment_group", "UpdateDeploymentGroup (settings, rename, tags)")
DELETE_DEPLOYMENT_GROUP = _added("delete_deployment_group", "DeleteDeploymentGroup, with its tags")
PUT_HOOK_STATUS = _added("put_lifecycle_event_hook_execution_status",
                         "PutLifecycleEventHookExecutionStatus: a hook reports Succeeded or Failed")
STOP_DEPLOYMENT = _added("stop_deployment", "StopDeployment of a running Lambda deployment")
GROUP_INFO = Patch(
    "codedeploy.group_reports_alarms", moto_responses, "_deployment_group_info", "wraps",
    "(deployment_group: moto.codedeploy.models.DeploymentGroup) -> dict[str, typing.Any]",
    "GetDeploymentGroup returns the group's alarmConfiguration and leaves out an empty loadBalancerInfo "
    "(moto: `{}` for both, drift in `terraform plan`)")
DEPLOYMENT_INFO = Patch(
    "codedeploy.deployment_reports_outcome", moto_responses, "_deployment_info", "wraps",
    "(deployment: moto.codedeploy.models.DeploymentInfo) -> dict[str, typing.Any]",
    "GetDeployment/BatchGetDeployments return errorInformation and rollbackInfo, left out when empty "
    "(moto: `{}` always)")
CREATE_DEPLOYMENT = Patch(
    "codedeploy.lambda_deployments_run", CodeDeployBackend, "create_deployment", "wraps",
    "(self, application_name: str, deployment_group_name: str, revision: dict[str, typing.Any], "
    "deployment_config_name: str | None = None, description: str | None = None, "
    "ignore_application_stop_failures: bool | None = None, target_instances: typing.Any | None = None, "
    "auto_rollback_configuration: typing.Any | None = None, update_outdated_instances_only: bool | None = None, "
    "file_exists_behavior: str | None = None, override_alarm_configuration: typing.Any | None = None) -> str",
    "a created Lambda deployment is carried out (moto leaves it Created)")
_TAGS_WHY = "an ARN without an account (the provider's in local mode) is read as the caller's"
TAG_PATCHES = tuple(Patch(f"codedeploy.{name}_without_account", CodeDeployBackend, name, "wraps", signature, _TAGS_WHY)
                    for name, signature in (
                        ("list_tags_for_resource", "(self, resource_arn: str) -> list[dict[str, str]]"),
                        ("tag_resource", "(self, arn: str, tags: dict[str, str]) -> None"),
                        ("untag_resource", "(self, arn: str, tag_keys: list[str]) -> None")))
PATCHES = (UPDATE_APPLICATION, DELETE_APPLICATION, UPDATE_DEPLOYMENT_GROUP, DELETE_DEPLOYMENT_GROUP,
           PUT_HOOK_STATUS, STOP_DEPLOYMENT, GROUP_INFO, DEPLOYMENT_INFO, CREATE_DEPLOYMENT, *TAG_PATCHES)


def own_account(backend: CodeDeployBackend, arn: str) -> str:
    """``arn`` with the backend's account when it names none (``arn:aws:codedeploy:<region>::...``)."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "codedeploy" and not parts[4]:
        parts[4] = backend.account_id
    return ":".join(parts)


def describe(info: dict[str, Any], deployment: DeploymentInfo) -> dict[str, Any]:
    """moto's description of a Lambda deployment with what the emulator noted on it (``error_information``,
    ``rollback_info``); empty ones are left out, as AWS does."""
    if deployment.application.compute_platform == "Lambda":
        for key, attribute in (("errorInformation", "error_information"), ("rollbackInfo", "rollback_info")):
            value = getattr(deployment, attribute, None)
            if value:
                info[key] = dict(value)
            else:
                info.pop(key, None)
    return info


def _group_info(info: dict[str, Any], group: DeploymentGroup) -> dict[str, Any]:
    info["alarmConfiguration"] = alarm_configuration(group.alarm_configuration)
    if not info.get("loadBalancerInfo"):
        info.pop("loadBalancerInfo", None)  # AWS leaves out what a Lambda group does not have
    return info


def install(patches: PatchSet, deployments: Deployments) -> None:
    """Add the missing operations and have ``deployments`` carry out Lambda deployments."""
    put_hook_status, stop = _deployment_operations(deployments)
    for patch, operation in ((UPDATE_APPLICATION, update_application), (DELETE_APPLICATION, delete_application),
                             (UPDATE_DEPLOYMENT_GROUP, update_deployment_group),
                             (DELETE_DEPLOYMENT_GROUP, delete_deployment_group), (PUT_HOOK_STATUS, put_hook_status),
                             (STOP_DEPLOYMENT, stop)):
        patches.apply(patch, operation)
    group_info = patches.apply(GROUP_INFO, lambda group: _group_info(group_info(group), group))
    deployment_info = patches.apply(DEPLOYMENT_INFO, lambda deployment: describe(deployment_info(deployment),
                                                                                 deployment))
    for patch in TAG_PATCHES:
        original = getattr(CodeDeployBackend, patch.attribute)
        patches.apply(patch, lambda backend, arn, *args, original=original:
                      original(backend, own_account(backend, arn), *args))
    create = patches.apply(CREATE_DEPLOYMENT, lambda backend, *args, **kwargs: _created(
        backend, create(backend, *args, **kwargs), deployments))


def _created(backend: CodeDeployBackend, deployment_id: str, deployments: Deployments) -> str:
    deployment = backend.deployments[deployment_id]
    if deployment.application.compute_platform == "Lambda":
        deployments.submit(backend, deployment)
    return deployment_id
