"""`make rollout` (devtools/rollout.py) against fake Lambda and CodeDeploy clients: which
functions get a deployment, the AppSpec, following a running deployment, progress lines, the
summary and exit codes. The emulator-backed run is in tests/e2e/test_2c_rollout.py."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from devtools import rollout as cmd
from modules.catalog import rolled_out
from modules.config import settings_for

SETTINGS = settings_for("dev", dict(os.environ))
PREFIX = "serverless-app-dev-"


class FakeLambda:
    def __init__(self, versions: dict[str, tuple[str, str]]) -> None:
        self.versions = versions  # function short name -> (live, newest)

    def get_alias(self, FunctionName: str, Name: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        return {"FunctionVersion": self.versions[FunctionName.removeprefix(PREFIX)][0]}

    def get_paginator(self, name: str) -> Any:
        outer = self

        class Paginator:
            def paginate(self, FunctionName: str) -> list[dict[str, Any]]:  # noqa: N803
                newest = int(outer.versions[FunctionName.removeprefix(PREFIX)][1])
                return [{"Versions": [{"Version": "$LATEST"}, *({"Version": str(v)} for v in range(1, newest + 1))]}]

        return Paginator()


class FakeCodeDeploy:
    def __init__(self, outcomes: dict[str, list[str]], running: dict[str, str] | None = None) -> None:
        self.outcomes = outcomes  # group short name -> statuses returned by successive get_deployment
        self.running = running or {}
        self.created: list[dict[str, Any]] = []
        self.groups: dict[str, str] = {}

    def list_deployments(self, applicationName: str, deploymentGroupName: str,  # noqa: N803
                         includeOnlyStatuses: list[str]) -> dict[str, Any]:  # noqa: N803
        short = deploymentGroupName.removeprefix(PREFIX)
        return {"deployments": [self.running[short]] if short in self.running else []}

    def create_deployment(self, **request: Any) -> dict[str, str]:
        self.created.append(request)
        deployment_id = f"d-{len(self.created)}"
        self.groups[deployment_id] = request["deploymentGroupName"].removeprefix(PREFIX)
        return {"deploymentId": deployment_id}

    def get_deployment(self, deploymentId: str) -> dict[str, Any]:  # noqa: N803
        group = self.groups.get(deploymentId) or next(g for g, d in self.running.items() if d == deploymentId)
        statuses = self.outcomes[group]
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        info: dict[str, Any] = {"status": status}
        if status == "Failed":
            info["errorInformation"] = {"code": "HOOK_EXECUTION_FAILURE", "message": "hook reported Failed"}
            info["rollbackInfo"] = {"rollbackDeploymentId": "d-rollback"}
        return {"deploymentInfo": info}


def run(versions: dict[str, tuple[str, str]], codedeploy: FakeCodeDeploy, monkeypatch: pytest.MonkeyPatch,
        timeout: float | None = None) -> tuple[int, list[str]]:
    lines: list[str] = []
    all_versions = {spec.name: ("1", "1") for spec in rolled_out()} | versions
    monkeypatch.setattr(cmd, "clients", lambda settings: (FakeLambda(all_versions), codedeploy))
    code = cmd.rollout(SETTINGS, lines.append, poll_seconds=0, timeout_seconds=timeout)
    return code, lines


def test_nothing_changed_creates_no_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    codedeploy = FakeCodeDeploy({})
    code, lines = run({}, codedeploy, monkeypatch)
    assert (code, codedeploy.created) == (0, [])
    assert lines[-1] == "rollout dev: nothing to roll out, every live alias is on its newest version"


def test_one_changed_function_gets_one_deployment_with_its_appspec(monkeypatch: pytest.MonkeyPatch) -> None:
    codedeploy = FakeCodeDeploy({"api": ["InProgress", "Succeeded"]})
    code, lines = run({"api": ("3", "4")}, codedeploy, monkeypatch)
    assert code == 0
    [request] = codedeploy.created
    assert (request["applicationName"], request["deploymentGroupName"]) == (f"{PREFIX}functions", f"{PREFIX}api")
    appspec = json.loads(request["revision"]["appSpecContent"]["content"])
    assert appspec["Resources"] == [{"api": {"Type": "AWS::Lambda::Function", "Properties": {
        "Name": f"{PREFIX}api", "Alias": "live", "CurrentVersion": "3", "TargetVersion": "4"}}}]
    assert appspec["Hooks"] == [{"BeforeAllowTraffic": f"{PREFIX}pre-traffic"}]
    assert "  api: version 3 -> 4: deployment d-1 (AllAtOnce)" in lines
    assert any(line.startswith("  api: Succeeded, live on 3") for line in lines)
    assert lines[-1] == "rollout dev: 1 shifted (api 3 -> 4), 0 rolled back, 6 unchanged"


def test_a_rolled_back_deployment_exits_1_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    codedeploy = FakeCodeDeploy({"api": ["Failed"], "validate": ["Succeeded"]})
    code, lines = run({"api": ("3", "4"), "validate": ("1", "2")}, codedeploy, monkeypatch)
    assert code == 1
    assert "  api: HOOK_EXECUTION_FAILURE: hook reported Failed; rolled back by d-rollback" in lines
    assert lines[-1] == "rollout dev: 1 shifted (validate 1 -> 2), 1 rolled back (api 3 -> 4), 5 unchanged"


def test_a_running_deployment_is_followed_not_duplicated(monkeypatch: pytest.MonkeyPatch) -> None:
    codedeploy = FakeCodeDeploy({"notify": ["Succeeded"]}, running={"notify": "d-earlier"})
    code, lines = run({"notify": ("2", "3")}, codedeploy, monkeypatch)
    assert (code, codedeploy.created) == (0, [])
    assert "  notify: deployment d-earlier already running: following it" in lines


def test_a_deployment_that_never_ends_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    codedeploy = FakeCodeDeploy({"api": ["InProgress"]})
    with pytest.raises(cmd.RolloutError, match=r"deployments still running after 0 min: api \(d-1\)"):
        run({"api": ("3", "4")}, codedeploy, monkeypatch, timeout=0.01)


def test_the_wait_outlasts_the_longest_preference() -> None:
    prod = settings_for("prod", dict(os.environ))
    assert cmd.timeout_for(prod) == (18 + prod.rollout.wait_margin_minutes) * 60
    assert cmd.timeout_for(SETTINGS) == SETTINGS.rollout.wait_margin_minutes * 60


def test_an_unknown_workspace_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cmd.main(["qa"]) == 2
    assert "qa" in capsys.readouterr().err
