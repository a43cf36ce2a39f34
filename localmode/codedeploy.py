"""CodeDeploy for the local workspace: the operations moto lacks, and Lambda deployments carried out.

moto 5.2.5 stores CodeDeploy applications, deployment groups and deployments, but GetDeploymentGroup
answers ``alarmConfiguration: {}`` (``terraform plan`` after apply would see drift), it has no
UpdateApplication, UpdateDeploymentGroup, DeleteDeploymentGroup, DeleteApplication,
PutLifecycleEventHookExecutionStatus or StopDeployment, and a deployment never runs (it stays
``Created``). :func:`install` adds those operations, answered as AWS answers a valid request (what the
Terraform AWS provider needs for ``aws_codedeploy_app`` and ``aws_codedeploy_deployment_group``), and
carries out the deployments of Lambda applications (:mod:`localmode.lambda_deployment`): hooks, alarms,
the alias moved to the target version, rollbacks.

Errors are AWS's (``DeploymentDoesNotExistException``, ``InvalidLifecycleEventHookExecutionIdException``,
``LifecycleEventAlreadyCompletedException``...; API reference, PutLifecycleEventHookExecutionStatus:
https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_PutLifecycleEventHookExecutionStatus.html).
Deleting what does not exist succeeds, as DeleteApplication and DeleteDeploymentGroup list no
"does not exist" error. One accommodation AWS never needs: the provider builds the ARN it tags an
application or group by from an account ID it does not look up in local mode
(``skip_requesting_account_id``), ``arn:aws:codedeploy:<region>::application:<name>``; an ARN without
an account is read as the caller's own, so tags set at creation are found again and ``plan`` is clean.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.codedeploy.exceptions import (
    ApplicationAlreadyExistsException,
    CodeDeployException,
    DeploymentGroupAlreadyExistsException,
)
from moto.codedeploy.models import CodeDeployBackend, DeploymentGroup
from moto.codedeploy.responses import CodeDeployResponse
from moto.core.responses import ActionResult, EmptyResult

from localmode.lambda_deployment import (
    DEFAULT_HOOK_TIMEOUT_SECONDS,
    TERMINAL_STATUSES,
    LambdaDeployments,
    alarm_configuration,
)

__all__ = ["DEFAULT_HOOK_TIMEOUT_SECONDS", "install", "set_hook_timeout", "wait_idle"]

# UpdateDeploymentGroup parameter -> moto's DeploymentGroup attribute; a parameter left out keeps its value.
_GROUP_SETTINGS = {
    "deploymentConfigName": "deployment_config_name", "serviceRoleArn": "service_role_arn",
    "alarmConfiguration": "alarm_configuration", "autoRollbackConfiguration": "auto_rollback_configuration",
    "deploymentStyle": "deployment_style", "blueGreenDeploymentConfiguration": "blue_green_deployment_configuration",
    "loadBalancerInfo": "load_balancer_info", "ec2TagFilters": "ec2_tag_filters", "ec2TagSet": "ec2_tag_set",
    "onPremisesInstanceTagFilters": "on_premises_instance_tag_filters", "onPremisesTagSet": "on_premises_tag_set",
    "autoScalingGroups": "auto_scaling_groups", "triggerConfigurations": "trigger_configurations",
    "outdatedInstancesStrategy": "outdated_instances_strategy", "ecsServices": "ecs_services",
    "terminationHookEnabled": "termination_hook_enabled",
}


class CodeDeployError(CodeDeployException):
    """An error of the CodeDeploy API that moto does not define (HTTP 400, AWS's type name)."""

    code = 400


def _arn(backend: CodeDeployBackend, resource: str) -> str:
    """The ARN moto tags an application (``application:<name>``) or group (``deploymentgroup:<app>/<name>``) by."""
    return f"arn:{backend.partition}:codedeploy:{backend.region_name}:{backend.account_id}:{resource}"


def _move_tags(backend: CodeDeployBackend, old_resource: str, new_resource: str) -> None:
    backend.tagger.copy_tags(_arn(backend, old_resource), _arn(backend, new_resource))
    backend.tagger.delete_all_tags_for_resource(_arn(backend, old_resource))


def _group(backend: CodeDeployBackend, application: str, name: str) -> DeploymentGroup:
    return backend.get_deployment_group(application, name)  # AWS's errors for a missing app or group


# UpdateApplication: the provider renames an application in place.
def _update_application(self: CodeDeployResponse) -> EmptyResult:
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


def _delete_application(self: CodeDeployResponse) -> EmptyResult:
    # Deleting an application deletes its deployment groups (and their tags).
    backend, name = self.codedeploy_backend, self._get_param("applicationName")
    for group in list(backend.deployment_groups.pop(name, {})):
        backend.tagger.delete_all_tags_for_resource(_arn(backend, f"deploymentgroup:{name}/{group}"))
    if backend.applications.pop(name, None) is not None:
        backend.tagger.delete_all_tags_for_resource(_arn(backend, f"application:{name}"))
    return EmptyResult()


def _update_deployment_group(self: CodeDeployResponse) -> ActionResult:
    backend, application = self.codedeploy_backend, self._get_param("applicationName")
    current, new = self._get_param("currentDeploymentGroupName"), self._get_param("newDeploymentGroupName")
    group = _group(backend, application, current)
    for parameter, attribute in _GROUP_SETTINGS.items():
        value = self._get_param(parameter)
        if value is not None:
            setattr(group, attribute, value)
    if new and new != current:
        groups = backend.deployment_groups[application]
        if new in groups:
            raise DeploymentGroupAlreadyExistsException(f"Deployment group {new} already exists.")
        group.deployment_group_name = new
        groups[new] = groups.pop(current)
        _move_tags(backend, f"deploymentgroup:{application}/{current}", f"deploymentgroup:{application}/{new}")
    return ActionResult({"hooksNotCleanedUp": []})


def _delete_deployment_group(self: CodeDeployResponse) -> ActionResult:
    backend, application = self.codedeploy_backend, self._get_param("applicationName")
    name = self._get_param("deploymentGroupName")
    if backend.deployment_groups.get(application, {}).pop(name, None) is not None:
        backend.tagger.delete_all_tags_for_resource(_arn(backend, f"deploymentgroup:{application}/{name}"))
    return ActionResult({"hooksNotCleanedUp": []})


_OPERATIONS: dict[str, Callable[..., Any]] = {
    "update_application": _update_application,
    "delete_application": _delete_application,
    "update_deployment_group": _update_deployment_group,
    "delete_deployment_group": _delete_deployment_group,
}


def _deployment_operations(deployments: LambdaDeployments) -> dict[str, Callable[..., Any]]:
    """The operations on running deployments, bound to the installed :class:`LambdaDeployments`."""

    # PutLifecycleEventHookExecutionStatus: a hook function reports Succeeded or Failed.
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
        auto_rollback = self._get_param("autoRollbackEnabled")
        rolls_back = None if auto_rollback is None else bool(auto_rollback)
        if not deployments.request_stop(deployment.deployment_id, rolls_back):
            raise CodeDeployError("UnsupportedActionForDeploymentTypeException",
                                  "The emulator stops Lambda deployments only (it runs no other).")
        return ActionResult({"status": "Pending", "statusMessage": "Stopping Pending. Stopping the deployment."})

    return {"put_lifecycle_event_hook_execution_status": put_lifecycle_event_hook_execution_status,
            "stop_deployment": stop_deployment}


def _add_operations(operations: dict[str, Callable[..., Any]]) -> Callable[[], None]:
    added = [name for name in operations if not hasattr(CodeDeployResponse, name)]
    for name in added:
        setattr(CodeDeployResponse, name, operations[name])

    def undo() -> None:
        for name in added:
            delattr(CodeDeployResponse, name)

    return undo


def _groups_report_their_alarms() -> Callable[[], None]:
    # moto answers `alarmConfiguration: {}` whatever the group was given, and an empty
    # `loadBalancerInfo` the provider reads as a configured block: both are drift in `terraform plan`.
    original = CodeDeployResponse.get_deployment_group

    def get_deployment_group(self: CodeDeployResponse) -> ActionResult:
        result = original(self)
        info = result.result["deploymentGroupInfo"]  # type: ignore[index]
        group = _group(self.codedeploy_backend, info["applicationName"], info["deploymentGroupName"])
        info["alarmConfiguration"] = alarm_configuration(group.alarm_configuration)
        if not info.get("loadBalancerInfo"):
            info.pop("loadBalancerInfo", None)  # AWS leaves out what a Lambda group does not have
        return result

    CodeDeployResponse.get_deployment_group = get_deployment_group  # type: ignore[method-assign]

    def undo() -> None:
        CodeDeployResponse.get_deployment_group = original  # type: ignore[method-assign]

    return undo


def _deployments_report_their_outcome(deployments: LambdaDeployments) -> Callable[[], None]:
    # moto answers `errorInformation: {}` and `rollbackInfo: {}` for every deployment.
    original_get, original_batch = CodeDeployResponse.get_deployment, CodeDeployResponse.batch_get_deployments

    def get_deployment(self: CodeDeployResponse) -> ActionResult:
        result = original_get(self)
        deployments.describe(result.result["deploymentInfo"])  # type: ignore[index]
        return result

    def batch_get_deployments(self: CodeDeployResponse) -> ActionResult:
        result = original_batch(self)
        for info in result.result["deploymentsInfo"]:  # type: ignore[index]
            deployments.describe(info)
        return result

    CodeDeployResponse.get_deployment = get_deployment  # type: ignore[method-assign]
    CodeDeployResponse.batch_get_deployments = batch_get_deployments  # type: ignore[method-assign]

    def undo() -> None:
        CodeDeployResponse.get_deployment = original_get  # type: ignore[method-assign]
        CodeDeployResponse.batch_get_deployments = original_batch  # type: ignore[method-assign]

    return undo


def own_account(backend: CodeDeployBackend, arn: str) -> str:
    """``arn`` with the backend's account when it names none (``arn:aws:codedeploy:<region>::...``)."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "codedeploy" and not parts[4]:
        parts[4] = backend.account_id
    return ":".join(parts)


def _tags_by_arn_without_account() -> Callable[[], None]:
    # The provider builds the ARN it tags and lists tags by from its account ID, which it does not
    # look up in local mode (`skip_requesting_account_id`): `arn:aws:codedeploy:<region>::application:<name>`.
    # Read as the caller's own account, so tags set at creation are found again (no drift in `plan`).
    originals = {name: getattr(CodeDeployBackend, name)
                 for name in ("list_tags_for_resource", "tag_resource", "untag_resource")}

    def with_own_account(original: Callable[..., Any]) -> Callable[..., Any]:
        def method(backend: CodeDeployBackend, arn: str, *args: Any) -> Any:
            return original(backend, own_account(backend, arn), *args)

        return method

    for name, original in originals.items():
        setattr(CodeDeployBackend, name, with_own_account(original))

    def undo() -> None:
        for name, original in originals.items():
            setattr(CodeDeployBackend, name, original)

    return undo


def _lambda_deployments_run(deployments: LambdaDeployments) -> Callable[[], None]:
    original = CodeDeployBackend.create_deployment

    def create_deployment(backend: CodeDeployBackend, *args: Any, **kwargs: Any) -> str:
        deployment_id = original(backend, *args, **kwargs)
        deployment = backend.deployments[deployment_id]
        if deployment.application.compute_platform == "Lambda":
            deployments.submit(backend, deployment)
        return deployment_id

    CodeDeployBackend.create_deployment = create_deployment  # type: ignore[method-assign,assignment]

    def undo() -> None:
        CodeDeployBackend.create_deployment = original  # type: ignore[method-assign]

    return undo


_active: LambdaDeployments | None = None


def install(*, hook_timeout_seconds: float = DEFAULT_HOOK_TIMEOUT_SECONDS) -> Callable[[], None]:
    """Add the missing operations and run Lambda deployments; return the undo function."""
    global _active
    deployments = LambdaDeployments(hook_timeout_seconds)
    undos = [_add_operations({**_OPERATIONS, **_deployment_operations(deployments)}),
             _groups_report_their_alarms(), _deployments_report_their_outcome(deployments),
             _tags_by_arn_without_account(), _lambda_deployments_run(deployments)]
    _active = deployments

    def uninstall() -> None:
        global _active
        for undo in reversed(undos):
            undo()
        deployments.shutdown()
        _active = None

    return uninstall


def set_hook_timeout(seconds: float) -> float:
    """Set how long the running emulator waits for a hook's report; return the previous value."""
    if _active is None:
        raise RuntimeError("the emulator's CodeDeploy is not installed")
    previous, _active.hook_timeout_seconds = _active.hook_timeout_seconds, seconds
    return previous


def wait_idle(timeout: float = 30.0) -> bool:
    """Wait until every submitted deployment has finished (True when nothing is installed)."""
    return _active.wait_idle(timeout) if _active else True
