"""Safe rollouts end to end, against the emulator of the session's local deploy: a changed
handler reaches traffic through CodeDeploy and the pre-traffic hook; a handler that fails its
smoke check is rolled back before any traffic moves; nothing changed, nothing deployed.

Each variant is the product's own code with one handler edited, in a copy of `handlers/`
(the repository is never touched), synthesized for the same emulator and applied to the
`local-app` stack, then rolled out with `make rollout`'s code (`LocalDeployer.roll_out`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from localmode.deploy import LocalDeployer
from tests.e2e.conftest import LocalBackend

ROOT = Path(__file__).resolve().parents[2]
PROJECT, WORKSPACE = "serverless-app", "local"
HEALTH_LOGIC = "handlers/api/logic/health.py"
# The new code answers with one more check; the broken code reports its table unavailable.
NEW_CHECK = ('        checks["table"] = "ok"\n', '        checks["table"] = "ok"\n        checks["rollout"] = "ok"\n')
BROKEN_CHECK = ('        checks["table"] = "ok"\n', '        checks["table"] = "unavailable"\n')


def variant(tmp: Path, edit: tuple[str, str]) -> Path:
    """A copy of the repository's handlers with the health logic edited."""
    shutil.copytree(ROOT / "handlers", tmp / "handlers", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp / HEALTH_LOGIC
    source = path.read_text()
    assert edit[0] in source, "the health logic changed: update this test's edit"
    path.write_text(source.replace(edit[0], edit[1], 1))
    return tmp


def synth_and_apply(backend: LocalBackend, source_root: Path, outdir: Path,
                    log: Callable[[str], None]) -> LocalDeployer:
    """Synthesize `local` from `source_root`'s handlers, apply `local-app`; the deployer."""
    from modules.app_builder import build_app  # the provider bindings: seconds to import
    from modules.config import settings_for

    settings = settings_for(WORKSPACE, {**os.environ, "EMULATOR_ENDPOINT": backend.emulator.endpoint})
    build_app([settings], outdir=str(outdir), source_root=source_root).synth()
    deployer = LocalDeployer(backend.emulator.endpoint, outdir=outdir, log=log)
    [app_stack] = [stack for stack in deployer.stacks() if stack.name == f"{WORKSPACE}-app"]
    deployer.apply_stack(app_stack)
    return deployer


def live_versions(backend: LocalBackend) -> dict[str, tuple[str, str]]:
    """Function -> (version `live` points at, newest published version)."""
    lam = backend.client("lambda")
    found = {}
    for function in lam.list_functions()["Functions"]:
        name = function["FunctionName"]
        if not name.startswith(f"{PROJECT}-{WORKSPACE}-") or name.endswith("-pre-traffic"):
            continue
        versions = [int(v["Version"]) for v in lam.list_versions_by_function(FunctionName=name)["Versions"]
                    if v["Version"].isdigit()]
        found[name] = (lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"], str(max(versions)))
    return found


def deployments(backend: LocalBackend) -> dict[str, list[str]]:
    codedeploy = backend.client("codedeploy")
    application = f"{PROJECT}-{WORKSPACE}-functions"
    return {group: codedeploy.list_deployments(applicationName=application, deploymentGroupName=group)["deployments"]
            for group in codedeploy.list_deployment_groups(applicationName=application)["deploymentGroups"]}


def _logger(lines: list[str]) -> Callable[[str], None]:
    def log(line: str) -> None:
        print(line, flush=True)
        lines.append(line)
    return log


API = f"{PROJECT}-{WORKSPACE}-api"


def test_a_changed_handler_reaches_traffic_through_codedeploy(local_backend: LocalBackend, tmp_path: Path) -> None:
    before, groups_before = live_versions(local_backend), deployments(local_backend)
    assert all(live == newest for live, newest in before.values()), before
    assert local_backend.request("GET", "/health").json()["checks"] == {"table": "ok"}
    lines: list[str] = []
    deployer = synth_and_apply(local_backend, variant(tmp_path / "src", NEW_CHECK), tmp_path / "out", _logger(lines))
    try:
        published = live_versions(local_backend)
        changed = {name for name, (live, newest) in published.items() if live != newest}
        assert changed == {API}, f"exactly the api function gets a new version, not {changed}"

        assert deployer.roll_out() == 0
        after = live_versions(local_backend)
        assert after[API] == (published[API][1], published[API][1])
        new = {group: ids[len(groups_before.get(group, [])):] for group, ids in deployments(local_backend).items()}
        assert {group for group, ids in new.items() if ids} == {API}, new
        info = local_backend.client("codedeploy").get_deployment(deploymentId=new[API][0])["deploymentInfo"]
        assert info["status"] == "Succeeded"
        # The emulator's CodeDeploy fails a deployment whose hook does not report Succeeded
        # (tests/localmode/test_codedeploy.py), so Succeeded means the hook checked version 2.
        appspec = json.loads(info["revision"]["appSpecContent"]["content"])
        assert appspec["Hooks"] == [{"BeforeAllowTraffic": f"{PROJECT}-{WORKSPACE}-pre-traffic"}]
        assert appspec["Resources"][0]["api"]["Properties"]["TargetVersion"] == published[API][1]
        assert any("1 shifted" in line and "0 rolled back" in line for line in lines), lines

        assert local_backend.request("GET", "/health").json()["checks"] == {"table": "ok", "rollout": "ok"}
        # Terraform agrees with the shifted alias: no change in the applied stack or what reads its outputs.
        applied = app_and_dependents(deployer)
        assert applied == [f"{WORKSPACE}-app", f"{WORKSPACE}-observability"]
        assert deployer.replan_exit_codes(applied) == dict.fromkeys(applied, 0)

        # Nothing changed since: Terraform plans no change (above), so a redeploy publishes no
        # version, and the rollout finds nothing to move and starts no deployment.
        lines.clear()
        counts = {group: len(ids) for group, ids in deployments(local_backend).items()}
        assert deployer.roll_out() == 0
        assert {group: len(ids) for group, ids in deployments(local_backend).items()} == counts
        assert any("nothing to roll out" in line for line in lines), lines
    finally:
        deployer.close()


def test_a_handler_failing_its_smoke_check_is_rolled_back(local_backend: LocalBackend, tmp_path: Path) -> None:
    good = live_versions(local_backend)[API][0]
    lines: list[str] = []
    deployer = synth_and_apply(local_backend, variant(tmp_path / "src", BROKEN_CHECK), tmp_path / "out",
                               _logger(lines))
    try:
        live, newest = live_versions(local_backend)[API]
        assert (live, int(newest)) == (good, int(good) + 1)
        groups_before = deployments(local_backend)

        assert deployer.roll_out() == 1
        assert live_versions(local_backend)[API][0] == good, "the alias stays on the version that passed"
        [failed] = deployments(local_backend)[API][len(groups_before[API]):][:1]
        info = local_backend.client("codedeploy").get_deployment(deploymentId=failed)["deploymentInfo"]
        assert info["status"] == "Failed"
        assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
        assert "pre-traffic" in info["errorInformation"]["message"]
        assert "reported Failed" in info["errorInformation"]["message"], "the hook ran and refused the version"
        assert info["rollbackInfo"]["rollbackDeploymentId"]
        assert any("0 shifted" in line and "1 rolled back" in line for line in lines), lines

        answer = local_backend.request("GET", "/health")
        assert answer.status_code == 200
        assert answer.json()["checks"] == {"table": "ok", "rollout": "ok"}, "the API keeps answering with the good code"
    finally:
        deployer.close()


def app_and_dependents(deployer: LocalDeployer) -> list[str]:
    """`local-app` and every stack that reads its outputs (directly or not): the stacks an apply
    of `local-app` and its rollout can change; the others (upstream) are not touched."""
    names = [f"{WORKSPACE}-app"]
    for stack in deployer.stacks():  # dependency order
        if set(names) & set(stack.dependencies):
            names.append(stack.name)
    return names
