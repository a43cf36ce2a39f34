"""The emulator's CodeDeploy: the operations moto lacks, and Lambda deployments carried out with their
hooks, alarms and rollbacks, against the package's emulator."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localmode import codedeploy
from tests.localmode.conftest import ACCOUNT, PREFIX, REGION, REPO_ROOT, Deployment, code_zip

APPLICATION = f"{PREFIX}-rollouts"
ALL_AT_ONCE = "CodeDeployDefault.LambdaAllAtOnce"
CANARY = "CodeDeployDefault.LambdaCanary10Percent5Minutes"
TERMINAL = {"Succeeded", "Failed", "Stopped"}
_names = itertools.count(1)

TARGET_FILES = {"lm_target/__init__.py": "",
                "lm_target/app.py": """
ANSWER = {answer!r}


def lambda_handler(event, context):
    custom = context.client_context.custom if context.client_context else {{}}
    return {{"answer": ANSWER, "custom": custom}}
"""}

HOOK_FILES = {"lm_hooks/__init__.py": "", "lm_hooks/hook.py": """
import base64
import json
import os
import time

import boto3


def _validate(codedeploy, deployment_id, execution_id):
    # What the product's pre-traffic hook does: read the AppSpec, invoke the target version with the
    # hook's ClientContext, judge its answer.
    content = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["revision"]
    [resource] = json.loads(content["appSpecContent"]["content"])["Resources"]
    [function] = resource.values()
    custom = {"DeploymentId": deployment_id, "LifecycleEventHookExecutionId": execution_id}
    response = boto3.client("lambda").invoke(
        FunctionName=function["Properties"]["Name"], Qualifier=function["Properties"]["TargetVersion"],
        Payload=b"{}", ClientContext=base64.b64encode(json.dumps({"custom": custom}).encode()).decode())
    answer = json.loads(response["Payload"].read())
    with open(os.environ["HOOK_LOG"], "a") as log:  # what the test reads to know the hook ran
        log.write(json.dumps({"deployment": deployment_id, "answer": answer}) + "\\n")
    good = "FunctionError" not in response and answer == {"answer": os.environ["EXPECTED_ANSWER"], "custom": custom}
    return "Succeeded" if good else "Failed"


def lambda_handler(event, context):
    mode = os.environ["HOOK_MODE"]
    deployment_id, execution_id = event["DeploymentId"], event["LifecycleEventHookExecutionId"]
    codedeploy = boto3.client("codedeploy")
    if mode == "raise":
        raise RuntimeError("the hook broke")
    if mode == "silent":
        return {"reported": None}
    if mode == "slow":
        time.sleep(1.5)
    status = _validate(codedeploy, deployment_id, execution_id) if mode == "validate" else (
        "Failed" if mode == "fail" else "Succeeded")
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id, status=status)
    return {"reported": status}
"""}


def target_zip(answer: str) -> bytes:
    return code_zip({name: text.format(answer=answer) for name, text in TARGET_FILES.items()})


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


@pytest.fixture(scope="module")
def cd(deployment: Deployment) -> Any:
    """The CodeDeploy client, with the Lambda application of these tests."""
    client = deployment.client("codedeploy")
    client.create_application(applicationName=APPLICATION, computePlatform="Lambda")
    return client


@pytest.fixture(scope="module")
def hook_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the validate hook writes what the target version answered it."""
    return tmp_path_factory.mktemp("hooks") / "validated.jsonl"


@pytest.fixture(scope="module")
def hooks(deployment: Deployment, hook_log: Path) -> dict[str, str]:
    """Hook functions by mode: validate (the real hook's job), fail, raise, silent, slow."""
    code, names = code_zip(HOOK_FILES), {}
    for mode in ("validate", "fail", "raise", "silent", "slow"):
        deployment.create_function(f"hook-{mode}", "lm_hooks.hook.lambda_handler",
                                   {"HOOK_MODE": mode, "EXPECTED_ANSWER": "two", "HOOK_LOG": str(hook_log)}, code=code)
        names[mode] = f"{PREFIX}-hook-{mode}"
    return names


def validated(hook_log: Path, deployment_id: str) -> list[dict[str, Any]]:
    """What the target version answered the validate hook of a deployment."""
    entries = [json.loads(line) for line in hook_log.read_text().splitlines()] if hook_log.exists() else []
    return [entry["answer"] for entry in entries if entry["deployment"] == deployment_id]


@pytest.fixture
def target(deployment: Deployment) -> str:
    """A function with version 1 (answers "one", behind ``live``) and version 2 (answers "two")."""
    short = unique("target")
    deployment.create_function(short, "lm_target.app.lambda_handler", {}, code=target_zip("one"))
    lam, name = deployment.client("lambda"), f"{PREFIX}-{short}"
    lam.update_function_code(FunctionName=name, ZipFile=target_zip("two"))
    assert lam.publish_version(FunctionName=name)["Version"] == "2"
    return name


@pytest.fixture
def group(cd: Any, deployment: Deployment) -> Callable[..., str]:
    """A deployment group of the application: ``group(rollback_events=[...], alarms=[...])``."""

    def create(*, rollback_events: list[str] | None = None, alarms: list[str] | None = None) -> str:
        name = unique("group")
        settings: dict[str, Any] = {}
        if rollback_events:
            settings["autoRollbackConfiguration"] = {"enabled": True, "events": rollback_events}
        if alarms:
            settings["alarmConfiguration"] = {"enabled": True, "alarms": [{"name": alarm} for alarm in alarms]}
        cd.create_deployment_group(
            applicationName=APPLICATION, deploymentGroupName=name, deploymentConfigName=ALL_AT_ONCE,
            serviceRoleArn=deployment.role_arn,
            deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}, **settings)
        return name

    return create


@pytest.fixture
def short_hook_timeout() -> Iterator[float]:
    """Hooks get 2 seconds to report, for this test."""
    previous = codedeploy.set_hook_timeout(2)
    yield 2
    codedeploy.set_hook_timeout(previous)


def appspec(function: str, hooks: list[tuple[str, str]], current: str = "1", target: str = "2") -> str:
    return json.dumps({"version": 0.0, "Resources": [{"fn": {"Type": "AWS::Lambda::Function", "Properties": {
        "Name": function, "Alias": "live", "CurrentVersion": current, "TargetVersion": target}}}],
        "Hooks": [{event: function} for event, function in hooks]})


def deploy(cd: Any, group: str, content: str) -> str:
    return str(cd.create_deployment(applicationName=APPLICATION, deploymentGroupName=group, description="test",
                                    revision={"revisionType": "AppSpecContent",
                                              "appSpecContent": {"content": content}})["deploymentId"])


def finished(cd: Any, deployment_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        info = cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        if info["status"] in TERMINAL or time.monotonic() > deadline:
            return dict(info)
        time.sleep(0.05)


def live_answer(deployment: Deployment, function: str) -> tuple[str, str]:
    lam = deployment.client("lambda")
    version = lam.get_alias(FunctionName=function, Name="live")["FunctionVersion"]
    answer = json.loads(lam.invoke(FunctionName=function, Qualifier="live", Payload=b"{}")["Payload"].read())
    return version, answer["answer"]


def error_code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    return str(raised.value.response["Error"]["Code"])


def execution_id_in(message: str) -> str:
    found = re.search(r"execution ([0-9a-f-]{36})", message)
    assert found, message
    return found.group(1)


# --- the operations moto lacks ---------------------------------------------------------------------------


def test_a_group_reports_its_alarm_configuration_as_configured(cd: Any, group: Callable[..., str]) -> None:
    name = group(alarms=["errors", "latency"], rollback_events=["DEPLOYMENT_FAILURE"])

    info = cd.get_deployment_group(applicationName=APPLICATION, deploymentGroupName=name)["deploymentGroupInfo"]

    assert info["alarmConfiguration"] == {"enabled": True, "ignorePollAlarmFailure": False,
                                          "alarms": [{"name": "errors"}, {"name": "latency"}]}
    assert info["autoRollbackConfiguration"] == {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}
    assert info["deploymentStyle"] == {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert info["computePlatform"] == "Lambda"
    assert "loadBalancerInfo" not in info


def test_a_group_without_alarms_reports_them_disabled(cd: Any, group: Callable[..., str]) -> None:
    name = group()

    info = cd.get_deployment_group(applicationName=APPLICATION, deploymentGroupName=name)["deploymentGroupInfo"]

    assert info["alarmConfiguration"] == {"enabled": False, "ignorePollAlarmFailure": False, "alarms": []}


def test_update_deployment_group_changes_only_what_it_names_and_renames(cd: Any, group: Callable[..., str],
                                                                        deployment: Deployment) -> None:
    name, renamed = group(alarms=["errors"], rollback_events=["DEPLOYMENT_FAILURE"]), unique("renamed")

    cd.update_deployment_group(applicationName=APPLICATION, currentDeploymentGroupName=name,
                               newDeploymentGroupName=renamed, deploymentConfigName=CANARY,
                               alarmConfiguration={"enabled": False, "ignorePollAlarmFailure": False, "alarms": []})

    info = cd.get_deployment_group(applicationName=APPLICATION, deploymentGroupName=renamed)["deploymentGroupInfo"]
    assert info["deploymentConfigName"] == CANARY
    assert info["alarmConfiguration"] == {"enabled": False, "ignorePollAlarmFailure": False, "alarms": []}
    assert info["autoRollbackConfiguration"] == {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}  # untouched
    assert info["serviceRoleArn"] == deployment.role_arn
    assert error_code(lambda: cd.get_deployment_group(applicationName=APPLICATION, deploymentGroupName=name)) \
        == "DeploymentGroupDoesNotExistException"
    assert error_code(lambda: cd.update_deployment_group(applicationName=APPLICATION, currentDeploymentGroupName=name,
                                                         deploymentConfigName=ALL_AT_ONCE)) \
        == "DeploymentGroupDoesNotExistException"


def test_delete_deployment_group_then_application_as_the_provider_does(cd: Any, deployment: Deployment) -> None:
    application, arn = unique("doomed-app"), f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:application:"
    cd.create_application(applicationName=application, computePlatform="Lambda", tags=[{"Key": "k", "Value": "v"}])
    cd.create_deployment_group(applicationName=application, deploymentGroupName="g", serviceRoleArn=deployment.role_arn)
    cd.create_deployment_group(applicationName=application, deploymentGroupName="h", serviceRoleArn=deployment.role_arn)

    deleted_group = cd.delete_deployment_group(applicationName=application, deploymentGroupName="g")
    cd.delete_application(applicationName=application)  # takes group "h" with it

    assert deleted_group["hooksNotCleanedUp"] == []
    assert error_code(lambda: cd.get_application(applicationName=application)) == "ApplicationDoesNotExistException"
    assert cd.list_tags_for_resource(ResourceArn=arn + application)["Tags"] == []
    assert application not in cd.list_applications()["applications"]
    # Deleting what is gone succeeds, as on AWS (neither operation has a "does not exist" error).
    cd.delete_deployment_group(applicationName=application, deploymentGroupName="h")
    cd.delete_application(applicationName=application)


def test_update_application_renames_it_with_its_groups_and_tags(cd: Any, deployment: Deployment) -> None:
    old, new, arn = unique("old-app"), unique("new-app"), f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:application:"
    cd.create_application(applicationName=old, computePlatform="Lambda", tags=[{"Key": "k", "Value": "v"}])
    cd.create_deployment_group(applicationName=old, deploymentGroupName="g", serviceRoleArn=deployment.role_arn,
                               tags=[{"Key": "group", "Value": "g"}])

    cd.update_application(applicationName=old, newApplicationName=new)

    assert cd.get_application(applicationName=new)["application"]["applicationName"] == new
    assert cd.get_deployment_group(applicationName=new, deploymentGroupName="g")["deploymentGroupInfo"][
        "applicationName"] == new
    assert cd.list_tags_for_resource(ResourceArn=arn + new)["Tags"] == [{"Key": "k", "Value": "v"}]
    group_arn = f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:{new}/g"
    assert cd.list_tags_for_resource(ResourceArn=group_arn)["Tags"] == [{"Key": "group", "Value": "g"}]
    assert error_code(lambda: cd.get_application(applicationName=old)) == "ApplicationDoesNotExistException"


def test_tags_are_found_by_an_arn_without_the_account(cd: Any) -> None:
    # The provider builds the ARN from an account ID it does not look up in local mode.
    application = unique("tagged-app")
    cd.create_application(applicationName=application, computePlatform="Lambda", tags=[{"Key": "k", "Value": "v"}])
    arn = f"arn:aws:codedeploy:{REGION}::application:{application}"

    cd.tag_resource(ResourceArn=arn, Tags=[{"Key": "added", "Value": "yes"}])
    cd.untag_resource(ResourceArn=arn, TagKeys=["k"])

    assert cd.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "added", "Value": "yes"}]
    assert cd.list_tags_for_resource(ResourceArn=arn.replace("::", f":{ACCOUNT}:"))["Tags"] \
        == [{"Key": "added", "Value": "yes"}]


# --- Lambda deployments ---------------------------------------------------------------------------------


def test_a_hook_that_validates_the_target_and_reports_succeeded_moves_the_alias(
        cd: Any, deployment: Deployment, hooks: dict[str, str], target: str, group: Callable[..., str],
        hook_log: Path) -> None:
    name = group(rollback_events=["DEPLOYMENT_FAILURE"])
    started = time.monotonic()

    deployment_id = deploy(cd, name, appspec(target, [("BeforeAllowTraffic", hooks["validate"])]))
    info = finished(cd, deployment_id)

    # The hook's own Invoke of version 2 ran nested: waiting for the lock it holds would have timed out.
    assert info["status"] == "Succeeded", info.get("errorInformation")
    [answer] = validated(hook_log, deployment_id)
    assert answer["answer"] == "two"
    assert answer["custom"]["DeploymentId"] == deployment_id
    assert time.monotonic() - started < 15
    assert live_answer(deployment, target) == ("2", "two")
    assert info["startTime"] <= info["completeTime"]
    assert info["deploymentOverview"]["Succeeded"] == 1
    assert "errorInformation" not in info and "rollbackInfo" not in info
    assert deployment_id in cd.list_deployments(applicationName=APPLICATION, deploymentGroupName=name,
                                                includeOnlyStatuses=["Succeeded"])["deployments"]


def test_after_allow_traffic_hooks_run_once_the_alias_moved(
        cd: Any, deployment: Deployment, hooks: dict[str, str], target: str, group: Callable[..., str]) -> None:
    name = group(rollback_events=["DEPLOYMENT_FAILURE"])

    info = finished(cd, deploy(cd, name, appspec(target, [("BeforeAllowTraffic", hooks["validate"]),
                                                          ("AfterAllowTraffic", hooks["fail"])])))

    # The alias had moved when the AfterAllowTraffic hook failed: the rollback moved it back.
    assert info["status"] == "Failed"
    assert "AfterAllowTraffic" in info["errorInformation"]["message"]
    assert finished(cd, info["rollbackInfo"]["rollbackDeploymentId"])["status"] == "Succeeded"
    assert live_answer(deployment, target) == ("1", "one")


def test_a_hook_that_reports_failed_fails_the_deployment_and_rolls_back(
        cd: Any, deployment: Deployment, hooks: dict[str, str], target: str, group: Callable[..., str]) -> None:
    name = group(rollback_events=["DEPLOYMENT_FAILURE"])

    deployment_id = deploy(cd, name, appspec(target, [("BeforeAllowTraffic", hooks["fail"])]))
    info = finished(cd, deployment_id)

    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    assert hooks["fail"] in info["errorInformation"]["message"]
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    rollback = finished(cd, rollback_id)
    assert rollback["status"] == "Succeeded"
    assert rollback["creator"] == "codeDeployRollback"
    assert rollback["rollbackInfo"] == {"rollbackTriggeringDeploymentId": deployment_id}
    assert "succeeded" in cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["rollbackInfo"][
        "rollbackMessage"]
    assert live_answer(deployment, target) == ("1", "one")
    both = cd.batch_get_deployments(deploymentIds=[deployment_id, rollback_id])["deploymentsInfo"]
    assert {entry["deploymentId"]: entry.get("rollbackInfo", {}).get("rollbackDeploymentId") for entry in both} \
        == {deployment_id: rollback_id, rollback_id: None}
    assert deployment_id in cd.list_deployments(applicationName=APPLICATION, deploymentGroupName=name,
                                                includeOnlyStatuses=["Failed"])["deployments"]


def test_a_hook_that_raises_fails_the_deployment(cd: Any, deployment: Deployment, hooks: dict[str, str], target: str,
                                                 group: Callable[..., str]) -> None:
    info = finished(cd, deploy(cd, group(), appspec(target, [("BeforeAllowTraffic", hooks["raise"])])))

    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    assert "RuntimeError: the hook broke" in info["errorInformation"]["message"]
    assert "rollbackInfo" not in info  # the group does not roll back
    assert live_answer(deployment, target) == ("1", "one")


def test_a_hook_that_never_reports_fails_after_the_configured_wait(
        cd: Any, deployment: Deployment, hooks: dict[str, str], target: str, group: Callable[..., str],
        short_hook_timeout: float) -> None:
    started = time.monotonic()

    info = finished(cd, deploy(cd, group(), appspec(target, [("BeforeAllowTraffic", hooks["silent"])])))

    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    assert "within 2 seconds" in info["errorInformation"]["message"]
    assert short_hook_timeout <= time.monotonic() - started < short_hook_timeout + 8
    assert live_answer(deployment, target) == ("1", "one")


def alarm_in_state(deployment: Deployment, name: str, state: str) -> str:
    """An errors alarm set to `state` in the emulator's CloudWatch; its name."""
    cloudwatch = deployment.client("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName=name, MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum",
                                Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=f"set to {state} by the test")
    return name


def test_an_alarm_in_alarm_stops_the_deployment_and_rolls_back(
        cd: Any, deployment: Deployment, hooks: dict[str, str], target: str, group: Callable[..., str]) -> None:
    alarm = alarm_in_state(deployment, unique("errors-alarm"), "ALARM")
    name = group(alarms=[alarm, "no-such-alarm"], rollback_events=["DEPLOYMENT_STOP_ON_ALARM"])

    info = finished(cd, deploy(cd, name, appspec(target, [("BeforeAllowTraffic", hooks["validate"])])))

    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert alarm in info["errorInformation"]["message"]
    assert finished(cd, info["rollbackInfo"]["rollbackDeploymentId"])["status"] == "Succeeded"
    assert live_answer(deployment, target) == ("1", "one")


def test_an_alarm_back_to_ok_lets_the_deployment_through(
        cd: Any, deployment: Deployment, hooks: dict[str, str], target: str, group: Callable[..., str]) -> None:
    alarm = alarm_in_state(deployment, unique("quiet-alarm"), "OK")

    info = finished(cd, deploy(cd, group(alarms=[alarm]), appspec(target, [("BeforeAllowTraffic", hooks["validate"])])))

    assert info["status"] == "Succeeded", info.get("errorInformation")
    assert live_answer(deployment, target) == ("2", "two")


def test_stop_deployment_stops_it_before_traffic_moves_and_rolls_back_on_request(
        cd: Any, deployment: Deployment, hooks: dict[str, str], target: str, group: Callable[..., str]) -> None:
    deployment_id = deploy(cd, group(), appspec(target, [("BeforeAllowTraffic", hooks["slow"])]))
    while cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"] == "Created":
        time.sleep(0.05)

    stopping = cd.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    info = finished(cd, deployment_id)

    assert stopping["status"] == "Pending"
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "MANUAL_STOP"
    assert finished(cd, info["rollbackInfo"]["rollbackDeploymentId"])["status"] == "Succeeded"
    assert live_answer(deployment, target) == ("1", "one")
    assert error_code(lambda: cd.stop_deployment(deploymentId=deployment_id)) == "DeploymentAlreadyCompletedException"


@pytest.mark.parametrize(("content", "code"), [
    ("not json", "INVALID_REVISION"),
    (json.dumps({"version": 0.0, "Resources": []}), "INVALID_REVISION"),
    (appspec(f"{PREFIX}-no-such-function", []), "INVALID_LAMBDA_FUNCTION"),
])
def test_a_deployment_that_cannot_start_fails_with_a_reason(cd: Any, group: Callable[..., str], content: str,
                                                            code: str) -> None:
    info = finished(cd, deploy(cd, group(), content))

    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == code


def test_a_target_version_that_does_not_exist_fails_without_moving_the_alias(
        cd: Any, deployment: Deployment, target: str, group: Callable[..., str]) -> None:
    info = finished(cd, deploy(cd, group(), appspec(target, [], target="7")))

    assert info["errorInformation"]["code"] == "INVALID_LAMBDA_FUNCTION"
    assert live_answer(deployment, target) == ("1", "one")


# --- PutLifecycleEventHookExecutionStatus refuses what is not a running hook ------------------------------


def test_unknown_or_finished_hook_executions_are_refused(cd: Any, hooks: dict[str, str], target: str,
                                                         group: Callable[..., str]) -> None:
    failed = finished(cd, deploy(cd, group(), appspec(target, [("BeforeAllowTraffic", hooks["fail"])])))
    deployment_id, execution_id = failed["deploymentId"], execution_id_in(failed["errorInformation"]["message"])

    def report(**arguments: str) -> Callable[[], Any]:
        return lambda: cd.put_lifecycle_event_hook_execution_status(**{"status": "Succeeded", **arguments})

    assert error_code(report(deploymentId="d-NOSUCHONE", lifecycleEventHookExecutionId=execution_id)) \
        == "DeploymentDoesNotExistException"
    assert error_code(report(deploymentId=deployment_id, lifecycleEventHookExecutionId="no-such-execution")) \
        == "InvalidLifecycleEventHookExecutionIdException"
    assert error_code(report(deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id)) \
        == "LifecycleEventAlreadyCompletedException"
    assert error_code(report(deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id,
                             status="Pending")) == "InvalidLifecycleEventHookExecutionStatusException"
    assert error_code(report(lifecycleEventHookExecutionId=execution_id)) == "DeploymentIdRequiredException"


# --- every patch is undone on stop --------------------------------------------------------------------------

UNDONE_SCRIPT = """
from moto.awslambda.responses import LambdaResponse
from moto.codedeploy.models import CodeDeployBackend
from moto.codedeploy.responses import CodeDeployResponse
from localmode import codedeploy
from localmode.emulator import Emulator

before = (LambdaResponse.invoke, CodeDeployBackend.create_deployment, CodeDeployResponse.get_deployment_group,
          CodeDeployResponse.get_deployment, CodeDeployResponse.batch_get_deployments)
with Emulator(port=0, hook_timeout_seconds=7.5):
    print("running:", hasattr(CodeDeployResponse, "put_lifecycle_event_hook_execution_status"),
          codedeploy.set_hook_timeout(7.5))
after = (LambdaResponse.invoke, CodeDeployBackend.create_deployment, CodeDeployResponse.get_deployment_group,
         CodeDeployResponse.get_deployment, CodeDeployResponse.batch_get_deployments)
print("stopped:", hasattr(CodeDeployResponse, "put_lifecycle_event_hook_execution_status"), before == after)
"""


def test_stopping_the_emulator_undoes_every_codedeploy_patch() -> None:
    # In a subprocess: this process's emulator (the package fixture) must keep running.
    result = subprocess.run([sys.executable, "-c", UNDONE_SCRIPT], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["running: True 7.5", "stopped: False True"]



STOP_DURING_HOOK_SCRIPT = """
import time

import boto3

from localmode.emulator import Emulator
from tests.localmode.conftest import code_zip
from tests.localmode.test_codedeploy import HOOK_FILES, appspec, target_zip

with Emulator(port=0) as emulator:  # hooks get the default 120 s to report
    session = boto3.session.Session(region_name="us-west-2", aws_access_key_id="test", aws_secret_access_key="test")
    lam, cd = (session.client(name, endpoint_url=emulator.endpoint) for name in ("lambda", "codedeploy"))
    role = session.client("iam", endpoint_url=emulator.endpoint).create_role(
        RoleName="role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(FunctionName="hook", Runtime="python3.13", Role=role, Handler="lm_hooks.hook.lambda_handler",
                        Code={"ZipFile": code_zip(HOOK_FILES)}, Environment={"Variables": {"HOOK_MODE": "silent"}})
    lam.create_function(FunctionName="target", Runtime="python3.13", Role=role, Handler="lm_target.app.lambda_handler",
                        Code={"ZipFile": target_zip("one")}, Publish=True)
    lam.create_alias(FunctionName="target", Name="live", FunctionVersion="1")
    cd.create_application(applicationName="app", computePlatform="Lambda")
    cd.create_deployment_group(applicationName="app", deploymentGroupName="group", serviceRoleArn=role)
    deployment_id = cd.create_deployment(applicationName="app", deploymentGroupName="group", revision={
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": appspec("target", [("BeforeAllowTraffic", "hook")], target="1")}})["deploymentId"]
    while cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"] != "InProgress":
        time.sleep(0.05)
    time.sleep(1)  # the silent hook has returned: its report is waited for
    stopping = time.monotonic()
print("stopped within 10 s:", time.monotonic() - stopping < 10)
"""


def test_stopping_the_emulator_does_not_wait_for_a_hooks_report() -> None:
    result = subprocess.run([sys.executable, "-c", STOP_DURING_HOOK_SCRIPT], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=180, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["stopped within 10 s: True"]
