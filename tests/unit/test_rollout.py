"""`make rollout` (delivery/rollout.py) against fake Lambda and CodeDeploy clients: which
functions get a deployment, the AppSpec, following a running deployment, progress lines, the
summary and exit codes. The emulator-backed run is in tests/e2e/test_2c_rollout.py."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from delivery import rollout as cmd
from modules.catalog import rolled_out
from modules.config import settings_for

SETTINGS = settings_for("dev", dict(os.environ))
PREFIX = "serverless-app-dev-"


class FakeLambda:
    def __init__(self, versions: dict[str, tuple[str, str]], undeletable: frozenset[int] = frozenset()) -> None:
        self.versions = versions  # function short name -> (live, newest)
        self.undeletable = undeletable
        self.deleted: list[tuple[str, str]] = []

    def list_aliases(self, FunctionName: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        return {"Aliases": [{"Name": "live", **self.get_alias(FunctionName, "live")}]}

    def delete_function(self, FunctionName: str, Qualifier: str) -> None:  # noqa: N803
        from botocore.exceptions import ClientError

        if int(Qualifier) in self.undeletable:
            raise ClientError({"Error": {"Code": "ResourceConflictException", "Message": "in use"}}, "DeleteFunction")
        self.deleted.append((FunctionName.removeprefix(PREFIX), Qualifier))

    def get_alias(self, FunctionName: str, Name: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        return {"FunctionVersion": self.versions[FunctionName.removeprefix(PREFIX)][0]}

    def get_paginator(self, name: str) -> Any:
        outer = self

        class Paginator:
            def paginate(self, FunctionName: str) -> list[dict[str, Any]]:  # noqa: N803
                newest = int(outer.versions[FunctionName.removeprefix(PREFIX)][1])
                deleted = {int(v) for f, v in outer.deleted if f == FunctionName.removeprefix(PREFIX)}
                return [{"Versions": [{"Version": "$LATEST"}, *({"Version": str(v)} for v in
                                                                range(1, newest + 1) if v not in deleted)]}]

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
        timeout: float | None = None, lambda_client: FakeLambda | None = None) -> tuple[int, list[str]]:
    lines: list[str] = []
    all_versions = {spec.name: ("1", "1") for spec in rolled_out()} | versions
    fake = lambda_client or FakeLambda({})
    fake.versions = all_versions
    monkeypatch.setattr(cmd, "clients", lambda settings: (fake, codedeploy))
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


# --- pruning: versions older than the rollback target are deleted -------------------------

def test_a_rollout_deletes_the_versions_no_rollback_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given api live on 3 with 1 and 2 still published, and version 4 to roll out
    fake = FakeLambda({})
    codedeploy = FakeCodeDeploy({"api": ["Succeeded"]})
    code, lines = run({"api": ("3", "4")}, codedeploy, monkeypatch, lambda_client=fake)
    # Then 1 and 2 are deleted; 3 (the rollback target) and 4 stay
    assert code == 0 and fake.deleted == [("api", "1"), ("api", "2")]
    assert "  api: deleted versions 1, 2 (kept 3, 4)" in lines
    assert lines[-1].startswith("rollout dev: 1 shifted (api 3 -> 4)")


def test_nothing_to_roll_out_still_prunes_and_keeps_what_the_alias_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given notify live on its newest version 5, with 1 to 4 published
    fake = FakeLambda({})
    code, lines = run({"notify": ("5", "5")}, FakeCodeDeploy({}), monkeypatch, lambda_client=fake)
    assert code == 0 and fake.deleted == [("notify", str(v)) for v in range(1, 5)]
    assert lines[-1] == "rollout dev: nothing to roll out, every live alias is on its newest version"


def test_a_version_that_cannot_be_deleted_is_reported_and_the_rollout_still_succeeds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeLambda({}, undeletable=frozenset({1}))
    code, lines = run({"api": ("3", "4")}, FakeCodeDeploy({"api": ["Succeeded"]}), monkeypatch, lambda_client=fake)
    assert code == 0 and fake.deleted == [("api", "2")]
    assert any(line.startswith("  api: version 1 not deleted (An error occurred (ResourceConflictException)")
               for line in lines)


def test_a_rolled_back_deployment_keeps_the_failed_version_and_the_live_one(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeLambda({})
    code, lines = run({"api": ("3", "4")}, FakeCodeDeploy({"api": ["Failed"]}), monkeypatch, lambda_client=fake)
    # live is back on 3 and 4 is kept for the fix-and-retry; only older versions go
    assert code == 1 and fake.deleted == [("api", "1"), ("api", "2")]
    assert "  api: deleted versions 1, 2 (kept 3, 4)" in lines
