"""Lambda deployments of the emulator's CodeDeploy, carried out as AWS does them, without traffic shifting.

What runs: CreateDeployment of an application with compute platform ``Lambda`` and a revision
``AppSpecContent`` (or ``String``) whose content is a JSON AppSpec with one ``AWS::Lambda::Function``
resource (``Name``, ``Alias``, ``CurrentVersion``, ``TargetVersion``) and optional ``Hooks``
(https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html#appspec-hooks-lambda).
A worker thread carries deployments out one at a time, in creation order (AWS runs deployments of
different groups at once):

1. ``Created`` -> ``InProgress`` (startTime). A deleted application or group fails the deployment
   (``APPLICATION_MISSING``, ``DEPLOYMENT_GROUP_MISSING``), so does an AppSpec that cannot be read
   (``INVALID_REVISION``; YAML is not read here) or a function, alias or version that does not exist
   (``INVALID_LAMBDA_FUNCTION``).
2. Each ``BeforeAllowTraffic`` hook: the function the AppSpec names is invoked through moto's Lambda
   backend, so the in-process runtime runs it, with ``{"DeploymentId", "LifecycleEventHookExecutionId"}``.
   It must report with PutLifecycleEventHookExecutionStatus within ``hook_timeout_seconds`` of its
   invocation (:data:`DEFAULT_HOOK_TIMEOUT_SECONDS`). A report of ``Failed``, a function error of the
   hook, or no report in time fails the hook and the deployment: ``Failed``, ``HOOK_EXECUTION_FAILURE``.
   (AWS invokes hooks asynchronously and waits longer; a hook that raises is retried there, and the
   deployment fails only when no report comes.) While the hook runs, its synchronous Invoke of the
   version it validates, with ClientContext custom ``DeploymentId`` and ``LifecycleEventHookExecutionId``,
   runs nested instead of waiting for the hook (:mod:`localmode.lambda_runtime`).
3. The alarms of the deployment's overrideAlarmConfiguration, else of the group's alarmConfiguration,
   when enabled: one in state ``ALARM`` in moto's CloudWatch stops the deployment (``Stopped``,
   ``ALARM_ACTIVE``). They are read before traffic moves and after the AfterAllowTraffic hooks. Polling
   never fails here (an alarm that does not exist is not active), so ignorePollAlarmFailure changes nothing.
4. The alias moves to TargetVersion all at once. There is no traffic shifting locally: canary and linear
   deployment configurations behave like ``CodeDeployDefault.LambdaAllAtOnce`` (no weights, no waits).
5. Each ``AfterAllowTraffic`` hook as in 2, the alarms again, then ``Succeeded`` (completeTime).

StopDeployment is honoured before each step (``Stopped``, ``MANUAL_STOP``). A deployment that fails or
stops rolls back when its autoRollbackConfiguration (the deployment's, else the group's) is enabled for
the event: ``DEPLOYMENT_FAILURE``, ``DEPLOYMENT_STOP_ON_ALARM``, ``DEPLOYMENT_STOP_ON_REQUEST`` (for a
manual stop, StopDeployment's autoRollbackEnabled decides when given). As on AWS the rollback is a new
deployment with its own ID
(https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html):
creator ``codeDeployRollback``, an AppSpec with CurrentVersion and TargetVersion swapped, no hooks here;
it puts (or leaves) the alias on the original version and ends ``Succeeded``. The failed deployment's
rollbackInfo names it (``rollbackDeploymentId``, ``rollbackMessage``), the rollback's names the
deployment it rolls back (``rollbackTriggeringDeploymentId``;
https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_RollbackInfo.html). errorInformation codes:
https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_ErrorInformation.html. deploymentOverview
counts the function as the one target: InProgress, then Succeeded or Failed.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from moto.awslambda.models import LambdaBackend, lambda_backends
from moto.cloudwatch.models import cloudwatch_backends
from moto.codedeploy.models import CodeDeployBackend, DeploymentInfo
from moto.core.utils import utcnow

from localmode import lambda_runtime
from localmode.worker_queue import wait_drained

LOG = logging.getLogger(__name__)
DEFAULT_HOOK_TIMEOUT_SECONDS = 120.0
TERMINAL_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})
BEFORE_ALLOW_TRAFFIC, AFTER_ALLOW_TRAFFIC = "BeforeAllowTraffic", "AfterAllowTraffic"
HOOK_STATUSES = frozenset({"Succeeded", "Failed"})  # the only ones a hook may report
_LAMBDA_FUNCTION = "AWS::Lambda::Function"


def alarm_configuration(value: Any) -> dict[str, Any]:
    """An alarm configuration as AWS answers it: ``enabled``, ``ignorePollAlarmFailure``, ``alarms``."""
    value = value if isinstance(value, dict) else {}
    alarms = [{"name": str(alarm["name"])} for alarm in value.get("alarms") or []
              if isinstance(alarm, dict) and alarm.get("name")]
    return {"enabled": bool(value.get("enabled", False)),
            "ignorePollAlarmFailure": bool(value.get("ignorePollAlarmFailure", False)), "alarms": alarms}


class DeploymentFailure(Exception):
    """Why a deployment ends without succeeding: its final status, error code and rollback event."""

    def __init__(self, code: str, message: str, *, status: str = "Failed",
                 rollback_event: str = "DEPLOYMENT_FAILURE") -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.rollback_event = code, message, status, rollback_event

    def error_information(self) -> dict[str, str]:
        """The deployment's ``errorInformation``."""
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class AppSpec:
    """The one Lambda function of an AppSpec, the alias to move and the hooks, in AppSpec order."""

    function: str
    alias: str
    current_version: str
    target_version: str
    hooks: tuple[tuple[str, str], ...] = ()  # (lifecycle event, hook function)

    def hook_functions(self, event: str) -> list[str]:
        """The functions hooked to ``event`` (BeforeAllowTraffic, AfterAllowTraffic)."""
        return [function for name, function in self.hooks if name == event]

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
    event: str
    function: str
    status: str = "InProgress"
    reason: str = ""  # why it failed
    settled: threading.Event = field(default_factory=threading.Event)

    def failure(self) -> DeploymentFailure:
        """The deployment's failure when this hook did not succeed."""
        return DeploymentFailure("HOOK_EXECUTION_FAILURE", f"The {self.event} hook {self.function} "
                                 f"(execution {self.execution_id}) failed: {self.reason}")


@dataclass
class DeploymentRecord:
    """What the emulator knows of a deployment beyond moto's model."""

    hooks: dict[str, HookExecution] = field(default_factory=dict)
    error: dict[str, str] | None = None
    rollback: dict[str, str] | None = None
    stop_requested: bool = False
    stop_rolls_back: bool | None = None  # StopDeployment's autoRollbackEnabled


class LambdaDeployments:
    """The worker that carries out Lambda deployments, and what the API reads and reports of them."""

    def __init__(self, hook_timeout_seconds: float = DEFAULT_HOOK_TIMEOUT_SECONDS) -> None:
        self.hook_timeout_seconds = hook_timeout_seconds
        self.records: dict[str, DeploymentRecord] = {}
        self.lock = threading.Lock()  # hook and stop state, written by API threads and the worker
        self.stopping = threading.Event()
        self._queue: queue.Queue[tuple[CodeDeployBackend, DeploymentInfo] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="codedeploy-lambda", daemon=True)
        self._worker.start()

    def submit(self, backend: CodeDeployBackend, deployment: DeploymentInfo) -> None:
        """Queue a created deployment."""
        self.records[deployment.deployment_id] = DeploymentRecord()
        self._queue.put((backend, deployment))

    def report(self, deployment_id: str, execution_id: str, status: str) -> tuple[str, str] | None:
        """Record a hook's report; the AWS error (type, message) when it is refused."""
        record = self.records.get(deployment_id)
        execution = record.hooks.get(execution_id) if record else None
        if execution is None:
            return ("InvalidLifecycleEventHookExecutionIdException",
                    f"The lifecycle event hook execution {execution_id!r} is not one of deployment {deployment_id}.")
        if status not in HOOK_STATUSES:
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

    def request_stop(self, deployment_id: str, auto_rollback: bool | None) -> bool:
        """Ask a deployment to stop before its next step; False when it is not a Lambda deployment."""
        record = self.records.get(deployment_id)
        if record is None:
            return False
        record.stop_rolls_back, record.stop_requested = auto_rollback, True
        return True

    def describe(self, info: dict[str, Any]) -> None:
        """Complete moto's description of a deployment with its errorInformation and rollbackInfo."""
        record = self.records.get(info.get("deploymentId", ""))
        if record is None:
            return  # not a Lambda deployment: moto's answer as it is
        for key, value in (("errorInformation", record.error), ("rollbackInfo", record.rollback)):
            if value:
                info[key] = dict(value)
            else:
                info.pop(key, None)  # AWS leaves out what did not happen

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every submitted deployment has finished; False on timeout."""
        return wait_drained(self._queue, timeout)

    def shutdown(self) -> None:
        """Fail the hooks still waited for, leave queued deployments as they are, stop the worker."""
        with self.lock:  # a hook registers under the lock: it is either settled below or never started
            self.stopping.set()
        for record in list(self.records.values()):
            for execution in list(record.hooks.values()):
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


def _start(deployment: DeploymentInfo) -> None:
    deployment.status, deployment.start_time = "InProgress", utcnow()
    deployment.deployment_overview = {**deployment.deployment_overview, "Pending": 0, "InProgress": 1}


def _finish(deployment: DeploymentInfo, status: str) -> None:
    outcome = "Succeeded" if status == "Succeeded" else "Failed"
    deployment.deployment_overview = {**deployment.deployment_overview, "InProgress": 0, outcome: 1}
    deployment.status, deployment.complete_time = status, utcnow()


class LambdaDeployment:
    """One deployment being carried out: the steps of the module docstring."""

    def __init__(self, owner: LambdaDeployments, backend: CodeDeployBackend, deployment: DeploymentInfo) -> None:
        self.owner, self.backend, self.deployment = owner, backend, deployment
        self.record = owner.records[deployment.deployment_id]
        self.functions: LambdaBackend = lambda_backends[backend.account_id][backend.region_name]

    def carry_out(self) -> None:
        """Run the deployment to its end, and its rollback when one is due."""
        _start(self.deployment)
        spec: AppSpec | None = None
        try:
            self._check_stop()
            self._check_group()
            spec = read_appspec(self.deployment.revision)
            self._check_target(spec)
            self._deploy(spec)
        except DeploymentFailure as failure:
            self._fail(failure, spec)
            return
        _finish(self.deployment, "Succeeded")

    def carry_out_rollback(self, spec: AppSpec) -> str:
        """Carry out this rollback deployment: the alias to ``spec``'s target version, no hooks, no
        alarms; return the status to finish it with (the caller first notes it on the deployment
        rolled back, so whoever sees the rollback finished also sees that note)."""
        _start(self.deployment)
        try:
            self._check_target(spec)
            self._move_alias(spec, spec.target_version)
        except DeploymentFailure as failure:
            self.record.error = failure.error_information()
            return "Failed"
        return "Succeeded"

    def _deploy(self, spec: AppSpec) -> None:
        self._run_hooks(spec, BEFORE_ALLOW_TRAFFIC)
        self._check_alarms()
        self._check_stop()
        self._move_alias(spec, spec.target_version)
        self._run_hooks(spec, AFTER_ALLOW_TRAFFIC)
        self._check_alarms()

    def _check_stop(self) -> None:
        if self.record.stop_requested:
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

    def _move_alias(self, spec: AppSpec, version: str) -> None:
        # All at once, and without weights: the final state of every traffic-shifting configuration.
        self.functions.update_alias(spec.alias, spec.function, version, None, {})  # type: ignore[arg-type]

    def _check_alarms(self) -> None:
        override = self.deployment.override_alarm_configuration
        config = alarm_configuration(override if override else self.deployment.deployment_group.alarm_configuration)
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
        for function in spec.hook_functions(event):
            self._check_stop()
            execution = HookExecution(str(uuid.uuid4()), event, function)
            with self.owner.lock:
                if self.owner.stopping.is_set():
                    raise DeploymentFailure("INTERNAL_ERROR", "The emulator stopped during the deployment.")
                self.record.hooks[execution.execution_id] = execution
            threading.Thread(target=self._invoke_hook, args=(execution,), name=f"hook-{function}",
                             daemon=True).start()
            if not execution.settled.wait(self.owner.hook_timeout_seconds):
                self.owner.settle(execution, "Failed", f"no PutLifecycleEventHookExecutionStatus within "
                                  f"{self.owner.hook_timeout_seconds:g} seconds")
            if execution.status != "Succeeded":
                raise execution.failure()

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
            self.record.error = failure.error_information()
            if rollback is not None:
                self.record.rollback = {"rollbackDeploymentId": rollback.deployment_id,
                                        "rollbackMessage": f"Rollback deployment {rollback.deployment_id} started."}
        _finish(self.deployment, failure.status)
        if rollback is not None and spec is not None:
            status = LambdaDeployment(self.owner, self.backend, rollback).carry_out_rollback(spec.rolled_back())
            message = (f"Rollback deployment {rollback.deployment_id} {status.lower()}: alias {spec.alias} of "
                       f"{spec.function} on version {spec.current_version}.")
            self.record.rollback = {"rollbackDeploymentId": rollback.deployment_id, "rollbackMessage": message}
            _finish(rollback, status)

    def _rolls_back(self, failure: DeploymentFailure) -> bool:
        if failure.code == "MANUAL_STOP" and self.record.stop_rolls_back is not None:
            return self.record.stop_rolls_back
        config = (self.deployment.auto_rollback_configuration
                  or self.deployment.deployment_group.auto_rollback_configuration)
        config = config if isinstance(config, dict) else {}
        return bool(config.get("enabled")) and failure.rollback_event in (config.get("events") or [])

    def _create_rollback(self, spec: AppSpec) -> DeploymentInfo:
        original = self.deployment
        rollback = DeploymentInfo(original.application, original.deployment_group, spec.rolled_back().revision(),
                                  original.deployment_config_name, f"Rollback of deployment {original.deployment_id}",
                                  None, None, None, None, None, None, "codeDeployRollback")
        self.backend.deployments[rollback.deployment_id] = rollback
        self.owner.records[rollback.deployment_id] = DeploymentRecord(
            rollback={"rollbackTriggeringDeploymentId": original.deployment_id})
        return rollback


def _error_summary(payload: Any) -> str:
    try:
        error = json.loads(payload)
        return f"{error['errorType']}: {error['errorMessage']}"
    except (TypeError, ValueError, KeyError):
        return str(payload)[:200]
