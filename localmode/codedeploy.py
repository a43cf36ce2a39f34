"""The emulator's CodeDeploy: Lambda deployments carried out as AWS does them, without traffic shifting.

:func:`install` adds what moto lacks (:mod:`localmode.moto_patches.codedeploy`); one worker thread carries
out each deployment of a ``Lambda`` application, in creation order, from its JSON AppSpec (one
``AWS::Lambda::Function``: ``Name``, ``Alias``, ``CurrentVersion``, ``TargetVersion``; optional ``Hooks``):

1. ``InProgress``; a deleted application or group, an unreadable AppSpec (YAML is not read) or a missing
   function, alias or version fails it (``APPLICATION_MISSING``, ``DEPLOYMENT_GROUP_MISSING``,
   ``INVALID_REVISION``, ``INVALID_LAMBDA_FUNCTION``).
2. Each ``BeforeAllowTraffic`` hook is invoked in-process with ``{"DeploymentId",
   "LifecycleEventHookExecutionId"}`` and must report (PutLifecycleEventHookExecutionStatus) within
   ``hook_timeout_seconds``; ``Failed``, a function error or silence fails the deployment
   (``HOOK_EXECUTION_FAILURE``; AWS retries a hook that raises). The hook's synchronous Invoke of the
   version it checks runs nested (:mod:`localmode.lambda_runtime`).
3. An enabled alarm (the deployment's overrideAlarmConfiguration, else the group's) in state ``ALARM`` stops
   it (``Stopped``, ``ALARM_ACTIVE``); checked before traffic moves and after the AfterAllowTraffic hooks.
4. The alias moves to TargetVersion at once: canary and linear configurations behave like AllAtOnce.
5. Each ``AfterAllowTraffic`` hook as in 2, the alarms again, ``Succeeded``.

StopDeployment is honoured before each step (``Stopped``, ``MANUAL_STOP``). A deployment that fails or stops
rolls back when its autoRollbackConfiguration (the deployment's, else the group's) names the event
(``DEPLOYMENT_FAILURE``, ``DEPLOYMENT_STOP_ON_ALARM``, ``DEPLOYMENT_STOP_ON_REQUEST``; StopDeployment's
autoRollbackEnabled decides when given): a new deployment, creator ``codeDeployRollback``, versions swapped, no
hooks or alarms, linked both ways in rollbackInfo
(https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from moto.awslambda.models import LambdaBackend, lambda_backends
from moto.cloudwatch.models import cloudwatch_backends
from moto.codedeploy.models import CodeDeployBackend, DeploymentInfo
from moto.core.utils import utcnow

from localmode import lambda_runtime
from localmode.moto_patches import codedeploy as moto_codedeploy
from localmode.moto_patches.patch import PatchSet
from localmode.worker_queue import wait_drained

__all__ = ["DEFAULT_HOOK_TIMEOUT_SECONDS", "install", "set_hook_timeout", "wait_idle"]
LOG = logging.getLogger(__name__)
DEFAULT_HOOK_TIMEOUT_SECONDS = 120.0
BEFORE_ALLOW_TRAFFIC, AFTER_ALLOW_TRAFFIC = "BeforeAllowTraffic", "AfterAllowTraffic"
_LAMBDA_FUNCTION = "AWS::Lambda::Function"


class DeploymentFailure(Exception):
    """Why a deployment ends without succeeding: its final status, error code and rollback event."""

    def __init__(self, code: str, message: str, *, status: str = "Failed",
                 rollback_event: str = "DEPLOYMENT_FAILURE") -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.rollback_event = code, message, status, rollback_event


@dataclass(frozen=True)
class AppSpec:
    """The one Lambda function of an AppSpec, the alias to move and the hooks, in AppSpec order."""

    function: str
    alias: str
    current_version: str
    target_version: str
    hooks: tuple[tuple[str, str], ...] = ()  # (lifecycle event, hook function)

    def rolled_back(self) -> AppSpec:
        """The AppSpec of the rollback: back to the current version, without hooks."""
        return replace(self, current_version=self.target_version, target_version=self.current_version, hooks=())

    def revision(self) -> dict[str, Any]:
        """This AppSpec as a deployment revision (``AppSpecContent``)."""
        properties = {"Name": self.function, "Alias": self.alias, "CurrentVersion": self.current_version,
                      "TargetVersion": self.target_version}
        content = {"version": 0.0, "Resources": [{self.function: {"Type": _LAMBDA_FUNCTION, "Properties": properties}}],
                   "Hooks": [{event: function} for event, function in self.hooks]}
        return {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(content)}}


def read_appspec(revision: Mapping[str, Any]) -> AppSpec:
    """The AppSpec of a deployment's revision; :class:`DeploymentFailure` (``INVALID_REVISION``) when
    it is not a JSON AppSpec with one Lambda function."""
    content = ((revision.get("appSpecContent") or {}).get("content")
               or (revision.get("string") or {}).get("content") or "")
    try:
        document = json.loads(content)
        [resource] = document["Resources"]
        [properties] = [entry["Properties"] for entry in resource.values() if entry.get("Type") == _LAMBDA_FUNCTION]
        hooks = tuple((str(event), str(function)) for hook in document.get("Hooks") or []
                      for event, function in hook.items())
        return AppSpec(str(properties["Name"]), str(properties["Alias"]), str(properties["CurrentVersion"]),
                       str(properties["TargetVersion"]), hooks)
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise DeploymentFailure("INVALID_REVISION", f"The AppSpec is not a JSON AppSpec with one {_LAMBDA_FUNCTION} "
                                f"resource (Name, Alias, CurrentVersion, TargetVersion): {err!r}") from err


@dataclass
class HookExecution:
    """One run of a lifecycle hook: what PutLifecycleEventHookExecutionStatus reports on."""

    execution_id: str
    deployment_id: str
    event: str
    function: str
    status: str = "InProgress"
    reason: str = ""  # why it failed
    settled: threading.Event = field(default_factory=threading.Event)


def _note(deployment: DeploymentInfo, **outcome: dict[str, str]) -> None:
    """Note ``error_information``/``rollback_info`` on moto's deployment (read by the describe patch)."""
    for name, value in outcome.items():
        setattr(deployment, name, value)


class LambdaDeployments:
    """The worker that carries out Lambda deployments, and the hook reports and stops it receives."""

    def __init__(self, hook_timeout_seconds: float = DEFAULT_HOOK_TIMEOUT_SECONDS) -> None:
        self.hook_timeout_seconds = hook_timeout_seconds
        self.hooks: dict[str, HookExecution] = {}  # by execution id
        self.stops: dict[str, bool | None] = {}  # stopped deployment id -> StopDeployment's autoRollbackEnabled
        self.lock = threading.Lock()  # hook and stop state, written by API threads and the worker
        self.stopping = threading.Event()
        self._queue: queue.Queue[tuple[CodeDeployBackend, DeploymentInfo] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="codedeploy-lambda", daemon=True)
        self._worker.start()

    def submit(self, backend: CodeDeployBackend, deployment: DeploymentInfo) -> None:
        """Queue a created deployment."""
        self._queue.put((backend, deployment))

    def report(self, deployment_id: str, execution_id: str, status: str) -> tuple[str, str] | None:
        """Record a hook's report; the AWS error (type, message) when it is refused."""
        execution = self.hooks.get(execution_id)
        if execution is None or execution.deployment_id != deployment_id:
            return ("InvalidLifecycleEventHookExecutionIdException",
                    f"The lifecycle event hook execution {execution_id!r} is not one of deployment {deployment_id}.")
        if status not in ("Succeeded", "Failed"):
            return ("InvalidLifecycleEventHookExecutionStatusException",
                    f"The status {status!r} is invalid: a hook reports Succeeded or Failed.")
        if not self.settle(execution, status, "the hook reported Failed"):
            return ("LifecycleEventAlreadyCompletedException",
                    f"The lifecycle event of hook execution {execution_id} has already completed ({execution.status}).")
        return None

    def settle(self, execution: HookExecution, status: str, reason: str = "") -> bool:
        """End a hook execution (first come, first served); False when it had already ended."""
        with self.lock:
            if execution.settled.is_set():
                return False
            execution.status, execution.reason = status, reason if status == "Failed" else ""
            execution.settled.set()
            return True

    def request_stop(self, deployment_id: str, auto_rollback: bool | None) -> None:
        """Ask a deployment to stop before its next step."""
        self.stops[deployment_id] = auto_rollback

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every submitted deployment has finished; False on timeout."""
        return wait_drained(self._queue, timeout)

    def shutdown(self) -> None:
        """Fail the hooks still waited for, leave queued deployments as they are, stop the worker."""
        with self.lock:  # a hook registers under the lock: it is either settled below or never started
            self.stopping.set()
        for execution in list(self.hooks.values()):
            self.settle(execution, "Failed", "the emulator stopped")
        self._queue.put(None)
        self._worker.join(timeout=30)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                if not self.stopping.is_set():
                    LambdaDeployment(self, *item).carry_out()
            except Exception:
                LOG.exception("Lambda deployment %s failed in the emulator", item[1].deployment_id)
            finally:
                self._queue.task_done()
        self._queue.task_done()


def _progress(deployment: DeploymentInfo, status: str) -> None:
    """Move a deployment to InProgress, or finish it with ``status`` (its one target counted)."""
    if status == "InProgress":
        deployment.start_time, counts = utcnow(), {"Pending": 0, "InProgress": 1}
    else:
        deployment.complete_time = utcnow()
        counts = {"InProgress": 0, "Succeeded" if status == "Succeeded" else "Failed": 1}
    deployment.deployment_overview = {**deployment.deployment_overview, **counts}
    deployment.status = status


class LambdaDeployment:
    """One deployment being carried out: the steps of the module docstring."""

    def __init__(self, owner: LambdaDeployments, backend: CodeDeployBackend, deployment: DeploymentInfo) -> None:
        self.owner, self.backend, self.deployment = owner, backend, deployment
        self.functions: LambdaBackend = lambda_backends[backend.account_id][backend.region_name]

    def carry_out(self) -> None:
        """Run the deployment to its end, and its rollback when one is due."""
        _progress(self.deployment, "InProgress")
        spec: AppSpec | None = None
        try:
            self._check_stop()
            self._check_group()
            spec = read_appspec(self.deployment.revision)
            self._check_target(spec)
            self._run_hooks(spec, BEFORE_ALLOW_TRAFFIC)
            self._check_alarms()
            self._check_stop()
            self._move_alias(spec)
            self._run_hooks(spec, AFTER_ALLOW_TRAFFIC)
            self._check_alarms()
        except DeploymentFailure as failure:
            self._fail(failure, spec)
            return
        _progress(self.deployment, "Succeeded")

    def _move_alias(self, spec: AppSpec) -> None:
        # All at once, and without weights: the final state of every traffic-shifting configuration.
        self.functions.update_alias(spec.alias, spec.function, spec.target_version, None, {})  # type: ignore[arg-type]

    def _check_stop(self) -> None:
        if self.deployment.deployment_id in self.owner.stops:
            raise DeploymentFailure("MANUAL_STOP", "The deployment was stopped (StopDeployment).",
                                    status="Stopped", rollback_event="DEPLOYMENT_STOP_ON_REQUEST")

    def _check_group(self) -> None:
        application = self.deployment.application_name
        if application not in self.backend.applications:
            raise DeploymentFailure("APPLICATION_MISSING", f"The application {application} was deleted.")
        if self.deployment.deployment_group_name not in self.backend.deployment_groups.get(application, {}):
            raise DeploymentFailure("DEPLOYMENT_GROUP_MISSING",
                                    f"The deployment group {self.deployment.deployment_group_name} was deleted.")

    def _check_target(self, spec: AppSpec) -> None:
        try:
            for version in (spec.current_version, spec.target_version):
                self.functions.get_function(spec.function, version)
            self.functions.get_alias(spec.alias, spec.function)
        except Exception as err:  # moto's Lambda errors: unknown function, version or alias
            raise DeploymentFailure("INVALID_LAMBDA_FUNCTION", f"{spec.function} alias {spec.alias}, versions "
                                    f"{spec.current_version} and {spec.target_version}: {err}") from err

    def _check_alarms(self) -> None:
        override = self.deployment.override_alarm_configuration
        config = moto_codedeploy.alarm_configuration(
            override if override else self.deployment.deployment_group.alarm_configuration)
        if not config["enabled"]:
            return
        names = [alarm["name"] for alarm in config["alarms"]]
        cloudwatch = cloudwatch_backends[self.backend.account_id][self.backend.region_name]
        active = sorted(alarm.name for alarm in cloudwatch.get_alarms_by_alarm_names(names)
                        if alarm.state_value == "ALARM")
        if active:
            raise DeploymentFailure("ALARM_ACTIVE", f"One or more alarms have been activated: {', '.join(active)}.",
                                    status="Stopped", rollback_event="DEPLOYMENT_STOP_ON_ALARM")

    def _run_hooks(self, spec: AppSpec, event: str) -> None:
        for function in [function for name, function in spec.hooks if name == event]:
            self._check_stop()
            execution = HookExecution(str(uuid.uuid4()), self.deployment.deployment_id, event, function)
            with self.owner.lock:
                if self.owner.stopping.is_set():
                    raise DeploymentFailure("INTERNAL_ERROR", "The emulator stopped during the deployment.")
                self.owner.hooks[execution.execution_id] = execution
            threading.Thread(target=self._invoke_hook, args=(execution,), name=f"hook-{function}",
                             daemon=True).start()
            if not execution.settled.wait(self.owner.hook_timeout_seconds):
                self.owner.settle(execution, "Failed", f"no PutLifecycleEventHookExecutionStatus within "
                                  f"{self.owner.hook_timeout_seconds:g} seconds")
            if execution.status != "Succeeded":
                raise DeploymentFailure("HOOK_EXECUTION_FAILURE", f"The {event} hook {function} "
                                        f"(execution {execution.execution_id}) failed: {execution.reason}")

    def _invoke_hook(self, execution: HookExecution) -> None:
        # In a thread of its own, so the report deadline holds even for a hook that never returns.
        event = {"DeploymentId": self.deployment.deployment_id, "LifecycleEventHookExecutionId": execution.execution_id}
        headers: dict[str, str] = {}
        try:
            with lambda_runtime.running_hook(execution.execution_id):
                payload = self.functions.invoke(execution.function, None, json.dumps(event).encode(), {}, headers)
        except Exception as err:  # moto's Lambda errors: the hook function does not exist
            self.owner.settle(execution, "Failed", f"it could not be invoked: {err}")
            return
        if "x-amz-function-error" in headers:
            self.owner.settle(execution, "Failed", f"the function raised: {_error_summary(payload)}")

    def _fail(self, failure: DeploymentFailure, spec: AppSpec | None) -> None:
        rollback = self._create_rollback(spec) if spec is not None and self._rolls_back(failure) else None
        with self.owner.lock:
            _note(self.deployment, error_information={"code": failure.code, "message": failure.message})
            if rollback is not None:
                _note(self.deployment, rollback_info={"rollbackDeploymentId": rollback.deployment_id,
                                                      "rollbackMessage": f"Rollback deployment "
                                                                         f"{rollback.deployment_id} started."})
        _progress(self.deployment, failure.status)
        if rollback is not None and spec is not None:
            status = LambdaDeployment(self.owner, self.backend, rollback).carry_out_rollback(spec.rolled_back())
            message = (f"Rollback deployment {rollback.deployment_id} {status.lower()}: alias {spec.alias} of "
                       f"{spec.function} on version {spec.current_version}.")
            _note(self.deployment, rollback_info={"rollbackDeploymentId": rollback.deployment_id,
                                                  "rollbackMessage": message})
            _progress(rollback, status)

    def carry_out_rollback(self, spec: AppSpec) -> str:
        """Carry out this rollback deployment: the alias to ``spec``'s target version, no hooks, no
        alarms; return the status to finish it with (the caller first notes it on the deployment
        rolled back, so whoever sees the rollback finished also sees that note)."""
        _progress(self.deployment, "InProgress")
        try:
            self._check_target(spec)
            self._move_alias(spec)
        except DeploymentFailure as failure:
            _note(self.deployment, error_information={"code": failure.code, "message": failure.message})
            return "Failed"
        return "Succeeded"

    def _rolls_back(self, failure: DeploymentFailure) -> bool:
        stop_rolls_back = self.owner.stops.get(self.deployment.deployment_id)
        if failure.code == "MANUAL_STOP" and stop_rolls_back is not None:
            return stop_rolls_back
        config = (self.deployment.auto_rollback_configuration
                  or self.deployment.deployment_group.auto_rollback_configuration)
        config = config if isinstance(config, dict) else {}
        return bool(config.get("enabled")) and failure.rollback_event in (config.get("events") or [])

    def _create_rollback(self, spec: AppSpec) -> DeploymentInfo:
        original = self.deployment
        rollback = DeploymentInfo(original.application, original.deployment_group, spec.rolled_back().revision(),
                                  original.deployment_config_name, f"Rollback of deployment {original.deployment_id}",
                                  None, None, None, None, None, None, "codeDeployRollback")
        _note(rollback, rollback_info={"rollbackTriggeringDeploymentId": original.deployment_id})
        self.backend.deployments[rollback.deployment_id] = rollback
        return rollback


def _error_summary(payload: Any) -> str:
    try:
        error = json.loads(payload)
        return f"{error['errorType']}: {error['errorMessage']}"
    except (TypeError, ValueError, KeyError):
        return str(payload)[:200]


_active: LambdaDeployments | None = None


def install(*, hook_timeout_seconds: float = DEFAULT_HOOK_TIMEOUT_SECONDS) -> Callable[[], None]:
    """Add the missing operations and run Lambda deployments; return the undo function."""
    global _active
    deployments, patches = LambdaDeployments(hook_timeout_seconds), PatchSet()
    moto_codedeploy.install(patches, deployments)
    _active = deployments

    def uninstall() -> None:
        global _active
        patches.undo()
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
