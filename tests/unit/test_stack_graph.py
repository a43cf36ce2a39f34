"""delivery.stacks: the dependency order of synthesized stacks and the bounded runner."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from delivery.stacks import Stack, StackGraphError, load_stacks, run_in_order


def write_manifest(outdir: Path, dependencies: dict[str, list[str]]) -> Path:
    stacks = {name: {"name": name, "dependencies": deps, "workingDirectory": f"stacks/{name}"}
              for name, deps in dependencies.items()}
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "manifest.json").write_text(json.dumps({"version": "0.21.0", "stacks": stacks}))
    return outdir


LAYERS = {
    "bootstrap": [],
    "dev-security": [],
    "dev-data": ["dev-security"],
    "dev-app": ["dev-data", "dev-security"],
    "dev-observability": ["dev-security", "dev-app", "dev-data"],
    "prod-security": [],
    "prod-data": ["prod-security"],
}


def test_stacks_of_one_workspace_come_in_dependency_order(tmp_path):
    stacks = load_stacks(write_manifest(tmp_path, LAYERS), ["dev"])
    names = [s.name for s in stacks]
    assert names == ["dev-security", "dev-data", "dev-app", "dev-observability"]
    assert stacks[0].directory == tmp_path / "stacks" / "dev-security"


def test_with_bootstrap_every_stack_waits_on_the_state_bucket(tmp_path):
    stacks = load_stacks(write_manifest(tmp_path, LAYERS), ["prod"], with_bootstrap=True)
    assert [s.name for s in stacks] == ["bootstrap", "prod-security", "prod-data"]
    assert all("bootstrap" in s.dependencies for s in stacks[1:])


def test_missing_synth_and_unknown_workspace_name_what_to_do(tmp_path):
    with pytest.raises(StackGraphError, match="manifest.json is missing: synthesize first"):
        load_stacks(tmp_path / "nowhere")
    with pytest.raises(StackGraphError, match="no stacks for workspace.*staging"):
        load_stacks(write_manifest(tmp_path, LAYERS), ["staging"])


def test_a_cycle_is_reported(tmp_path):
    with pytest.raises(StackGraphError, match="cycle"):
        load_stacks(write_manifest(tmp_path, {"dev-a": ["dev-b"], "dev-b": ["dev-a"]}))


def test_independent_stacks_run_in_parallel_and_dependents_wait(tmp_path):
    stacks = load_stacks(write_manifest(tmp_path, LAYERS), ["dev", "prod"])
    lock, active, peak, finished = threading.Lock(), [0], [0], []

    def action(stack: Stack) -> str:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            assert all(dep in finished for dep in stack.dependencies), f"{stack.name} started before its upstream"
        time.sleep(0.05)
        with lock:
            active[0] -= 1
            finished.append(stack.name)
        return stack.name.upper()

    outcomes = run_in_order(stacks, action, max_parallel=2)
    assert peak[0] == 2
    assert {name: o.result for name, o in outcomes.items()} == {s.name: s.name.upper() for s in stacks}


def test_a_failed_or_unfinished_stack_makes_its_dependents_wait_on_it(tmp_path):
    stacks = load_stacks(write_manifest(tmp_path, LAYERS), ["dev", "prod"])

    def action(stack: Stack) -> bool:
        if stack.name == "dev-data":
            raise RuntimeError("boom")
        return stack.name != "prod-security"  # e.g. "not deployed yet"

    outcomes = run_in_order(stacks, action, proceed=lambda _stack, result: result)
    assert str(outcomes["dev-data"].error) == "boom"
    assert outcomes["dev-app"].waits_on == "dev-data"
    assert outcomes["dev-observability"].waits_on == "dev-data"
    assert outcomes["prod-data"].waits_on == "prod-security"
    assert outcomes["dev-security"].ok and not outcomes["dev-app"].ok
