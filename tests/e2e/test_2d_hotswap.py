"""`make watch` end to end, against the emulator of the session's local deploy: an edit under a
watched `handlers/` answers on the local API without a deployment; Terraform then plans the
function as an in-place update and the next deploy reconciles it; an edit that breaks the
handler's import is rolled back by the pre-traffic hook while the old version keeps answering.

The watched tree is a copy of the repository's `handlers/` (the repository is never touched).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

from delivery import hotswap
from tests.e2e.conftest import LocalBackend
from tests.e2e.test_2c_rollout import API, HEALTH_LOGIC, ROOT, WORKSPACE, _logger, app_and_dependents

HOTSWAP_CHECK = ('        checks["table"] = "ok"\n',
                 '        checks["table"] = "ok"\n        checks["hotswap"] = "ok"\n')
BROKEN_IMPORT = ("from __future__ import annotations\n",
                 "from __future__ import annotations\n\nimport handlers.no_such_module  # noqa: F401\n")
ANSWER_TIMEOUT_SECONDS = 120  # a bound for a hung test, not a speed target (bench/bench_local.py has those)


def _settings(backend: LocalBackend):
    from modules.config import settings_for

    return settings_for(WORKSPACE, {**os.environ, "EMULATOR_ENDPOINT": backend.emulator.endpoint})


def _edit(source_root: Path, edit: tuple[str, str]) -> None:
    path = source_root / HEALTH_LOGIC
    source = path.read_text()
    assert edit[0] in source, "the health logic changed: update this test's edit"
    path.write_text(source.replace(edit[0], edit[1], 1))


def _wait_for_checks(backend: LocalBackend, expected: dict[str, str]) -> float:
    started = time.monotonic()
    while time.monotonic() - started < ANSWER_TIMEOUT_SECONDS:
        answer = backend.request("GET", "/health")
        if answer.status_code == 200 and answer.json()["checks"] == expected:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"/health never answered {expected} (last: {answer.status_code} {answer.text[:200]})")


def test_an_edit_under_watch_answers_then_the_next_deploy_reconciles_it(local_backend: LocalBackend,
                                                                         tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(ROOT / "handlers", source / "handlers", ignore=shutil.ignore_patterns("__pycache__"))
    lines: list[str] = []
    stop = threading.Event()
    watcher = threading.Thread(target=hotswap.watch, args=(_settings(local_backend), _logger(lines), source, stop))
    watcher.start()
    try:
        # The first pass makes the live code the watched tree's (earlier tests left another version live).
        _wait_for_checks(local_backend, {"table": "ok"})
        while not any("watching" in line for line in lines):
            time.sleep(0.1)
        _edit(source, HOTSWAP_CHECK)
        seconds = _wait_for_checks(local_backend, {"table": "ok", "hotswap": "ok"})
        print(f"edit to new answer through the watcher: {seconds:.1f} s", flush=True)
    finally:
        stop.set()
        watcher.join(timeout=60)
    assert any(f"hotswap {WORKSPACE}: changed handlers/api/logic/health.py" in line for line in lines), lines
    assert any("api live in" in line and "next deploy reconciles it" in line for line in lines), lines

    # Terraform sees the swapped function as an update in place, and the next redeploy of the
    # same code applies the app layer alone (the others are unchanged) and settles it.
    from localmode.deploy import LocalDeployer
    from modules.app_builder import build_app

    outdir = tmp_path / "out"
    build_app([_settings(local_backend)], outdir=str(outdir), source_root=source).synth()
    api_actions = [change["change"]["actions"] for change in planned_changes(local_backend, outdir)
                   if change["type"] == "aws_lambda_function"
                   and change["change"]["before"].get("function_name") == API]
    assert api_actions == [["update"]], api_actions
    lines.clear()
    redeploy = LocalDeployer(local_backend.emulator.endpoint, outdir=outdir, log=_logger(lines))
    try:
        redeploy.reapply()
        skipped = sorted(line.split(":")[0] for line in lines if ": skipped, unchanged" in line)
        assert skipped == [f"{WORKSPACE}-data", f"{WORKSPACE}-observability", f"{WORKSPACE}-security"], lines
        assert any(line.startswith(f"{WORKSPACE}-app: done in") for line in lines), lines
        # The applied stack and what reads its outputs (the skipped observability among them)
        # plan no change; the stacks upstream of it are not touched by a hotswap or this apply.
        applied = app_and_dependents(redeploy)
        assert applied == [f"{WORKSPACE}-app", f"{WORKSPACE}-observability"]
        assert redeploy.replan_exit_codes(applied) == dict.fromkeys(applied, 0)
        lines.clear()  # nothing changed since: everything is skipped
        redeploy.reapply()
        assert any("applied 0 of 4 stacks" in line for line in lines), lines
    finally:
        redeploy.close()


def planned_changes(backend: LocalBackend, outdir: Path) -> list[dict]:
    """The resource changes `terraform plan` shows for `local-app` synthesized into `outdir`."""
    from localmode.deploy import LocalDeployer

    deployer = LocalDeployer(backend.emulator.endpoint, outdir=outdir)
    try:
        app_dir = outdir / "stacks" / f"{WORKSPACE}-app"
        deployer.terraform.init(app_dir, reconfigure=True)
        deployer.terraform.run(app_dir, "plan", "-input=false", "-no-color", "-lock-timeout=60s", "-out=review.tfplan")
        shown = deployer.terraform.run(app_dir, "show", "-json", "-no-color", "review.tfplan")
        return [change for change in json.loads(shown.stdout).get("resource_changes", [])
                if change["change"]["actions"] != ["no-op"]]
    finally:
        deployer.close()


def test_an_edit_that_breaks_the_import_is_rolled_back(local_backend: LocalBackend, tmp_path: Path) -> None:
    good = local_backend.request("GET", "/health").json()["checks"]
    source = tmp_path / "src"
    shutil.copytree(ROOT / "handlers", source / "handlers", ignore=shutil.ignore_patterns("__pycache__"))
    _edit(source, BROKEN_IMPORT)
    lines: list[str] = []
    code = hotswap.swap(_settings(local_backend), tmp_path / "build", _logger(lines), source)
    assert code == hotswap.EXIT_ROLLED_BACK, lines
    assert any("1 rolled back" in line for line in lines), lines
    assert any("api rolled back in" in line and "the previous version keeps answering" in line
               for line in lines), lines
    answer = local_backend.request("GET", "/health")
    assert answer.status_code == 200 and answer.json()["checks"] == good
