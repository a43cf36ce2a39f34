"""The pre-traffic hook: its verdict rules, its report to CodeDeploy, and the catalog's smoke
checks against the real handlers (each check passes on today's code, without side effects)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.deploy.logic import CheckResult, check_targets, judge, verdict
from handlers.shared.aws.deployments import LambdaTarget
from handlers.shared.aws.function_versions import Invocation
from handlers.shared.settings import SmokeCheck
from modules.catalog import rolled_out
from tests.handlers.helpers import FakeLambdaContext, count_records

HEALTH = SmokeCheck(event={"path": "/health"}, status_code=200)
REFUSAL = SmokeCheck(event={}, error_type="JobValidationError")


def _error(error_type: str) -> Invocation:
    return Invocation({"errorType": error_type, "errorMessage": "x"}, "Unhandled")


@pytest.mark.parametrize(("check", "answer", "passed"), [
    (HEALTH, Invocation({"statusCode": 200, "body": "{}"}, None), True),
    (HEALTH, Invocation({"statusCode": 503, "body": "{}"}, None), False),
    (HEALTH, _error("ImportModuleError"), False),
    (HEALTH, Invocation("not json", None), False),
    (REFUSAL, _error("JobValidationError"), True),
    (REFUSAL, _error("KeyError"), False),
    (REFUSAL, Invocation({"job_id": "j"}, None), False),  # accepted what it must refuse
])
def test_judge_passes_only_the_expected_answer(check: SmokeCheck, answer: Invocation, passed: bool) -> None:
    ok, detail = judge(check, answer)
    assert ok is passed
    assert detail


class FakeInvoker:
    def __init__(self, answers: dict[str, Invocation | Exception]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, dict[str, str]]] = []

    def invoke(self, name: str, version: str, event: Any, client_context: Any) -> Invocation:
        self.calls.append((name, version, dict(client_context)))
        answer = self.answers[name]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _target(name: str) -> LambdaTarget:
    return LambdaTarget(name, "live", "3", "4")


def test_every_target_version_is_checked_with_the_client_context() -> None:
    invoker = FakeInvoker({"api": Invocation({"statusCode": 200}, None), "validate": _error("JobValidationError")})
    results = check_targets([_target("api"), _target("validate")], {"api": HEALTH, "validate": REFUSAL}, invoker,
                            {"DeploymentId": "d-1"})
    assert [(r.function, r.version, r.passed) for r in results] == [("api", "4", True), ("validate", "4", True)]
    assert invoker.calls == [("api", "4", {"DeploymentId": "d-1"}), ("validate", "4", {"DeploymentId": "d-1"})]
    assert verdict(results) == "Succeeded"


def test_a_function_without_check_or_a_failed_invocation_fails_the_verdict() -> None:
    invoker = FakeInvoker({"api": TimeoutError("read timeout")})
    results = check_targets([_target("api"), _target("unknown")], {"api": HEALTH}, invoker, {})
    assert [r.passed for r in results] == [False, False]
    assert "TimeoutError" in results[0].detail and "no smoke check" in results[1].detail
    assert verdict(results) == "Failed"


def test_nothing_checked_is_not_a_success() -> None:
    assert verdict([]) == "Failed"
    assert verdict([CheckResult("api", "4", True, "ok")]) == "Succeeded"


# --- the entry point: the verdict always reaches CodeDeploy ---------------------------------------

HOOK_ENVIRONMENT = {
    "DEPLOYMENT_APPLICATION_NAME": "serverless-app-test-functions",
    "SMOKE_CHECKS": json.dumps({"fn-api": {"event": {"path": "/health"}, "status_code": 200}}),
}


class FakeDeployments:
    def __init__(self, targets: list[LambdaTarget] | Exception) -> None:
        self._targets = targets
        self.reports: list[tuple[str, str, str]] = []

    def targets(self, deployment_id: str) -> list[LambdaTarget]:
        if isinstance(self._targets, Exception):
            raise self._targets
        return self._targets

    def report(self, deployment_id: str, hook_execution_id: str, status: str) -> None:
        self.reports.append((deployment_id, hook_execution_id, status))


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch, load_handler: Any) -> Any:
    for name, value in HOOK_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    return load_handler("handlers.deploy.pre_traffic")


EVENT = {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "h-1"}


@pytest.mark.parametrize(("answer", "status"), [
    (Invocation({"statusCode": 200}, None), "Succeeded"),
    (Invocation({"statusCode": 500}, None), "Failed"),
])
def test_the_hook_reports_its_verdict(hook: Any, monkeypatch: pytest.MonkeyPatch, answer: Invocation,
                                      status: str) -> None:
    fake = FakeDeployments([LambdaTarget("fn-api", "live", "1", "2")])
    monkeypatch.setattr(hook, "deployments", fake)
    monkeypatch.setattr(hook, "versions", FakeInvoker({"fn-api": answer}))
    result = hook.lambda_handler(EVENT, FakeLambdaContext())
    assert fake.reports == [("d-1", "h-1", status)]
    assert result["status"] == status and result["checks"][0]["function"] == "fn-api"


def test_the_hook_reports_failed_when_the_deployment_cannot_be_read(hook: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDeployments(RuntimeError("GetDeployment denied"))
    monkeypatch.setattr(hook, "deployments", fake)
    assert hook.lambda_handler(EVENT, FakeLambdaContext())["status"] == "Failed"
    assert fake.reports == [("d-1", "h-1", "Failed")]


def test_the_hook_refuses_an_event_without_ids(hook: Any) -> None:
    with pytest.raises(ValueError, match="DeploymentId"):
        hook.lambda_handler({"LifecycleEventHookExecutionId": "h-1"}, FakeLambdaContext())


def test_the_hook_environment_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers.shared.settings import ConfigurationError, PreTrafficHookEnvironment, load_settings

    environ = {**HOOK_ENVIRONMENT, "POWERTOOLS_SERVICE_NAME": "pre-traffic",
               "SMOKE_CHECKS": json.dumps({"fn": {"event": {}, "status_code": 99}})}
    with pytest.raises(ConfigurationError, match="SMOKE_CHECKS"):
        load_settings(PreTrafficHookEnvironment, environ)


# --- the catalog's smoke checks hold on today's handlers ---------------------------------------------

@pytest.mark.parametrize("spec", rolled_out(), ids=lambda spec: spec.name)
def test_smoke_check_passes_on_the_current_handler_without_side_effects(spec: Any, table: Any, topic: Any,
                                                                         state_machine: Any, load_handler: Any) -> None:
    assert spec.smoke_check is not None, f"{spec.name} is deployed through CodeDeploy but has no smoke check"
    check = SmokeCheck.model_validate(spec.smoke_check.as_json())
    module_name, _, attribute = spec.handler.rpartition(".")
    entry = getattr(load_handler(module_name), attribute)
    before = count_records(table, "")
    try:
        answer = Invocation(entry(json.loads(json.dumps(check.event)), FakeLambdaContext()), None)
    except Exception as err:  # what the Lambda runtime turns into a function error
        answer = Invocation({"errorType": type(err).__name__, "errorMessage": str(err)}, "Unhandled")
    passed, detail = judge(check, answer)
    assert passed, f"{spec.name}: {detail}"
    assert count_records(table, "") == before, f"{spec.name}: the smoke check wrote to the table"
    assert topic.messages() == [], f"{spec.name}: the smoke check published an event"
    executions = state_machine.list_executions(stateMachineArn=state_machine.list_state_machines()
                                               ["stateMachines"][0]["stateMachineArn"])["executions"]
    assert executions == [], f"{spec.name}: the smoke check started a job"
