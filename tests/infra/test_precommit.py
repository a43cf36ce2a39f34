"""The pre-commit hooks, `make lint` and `make fmt` run the same checks, so they cannot drift."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# Hooks that `make lint` need not run, with the reason (none today: the workflow linters run
# through scripts/lint-workflows, as make lint runs them).
HOOKS_BEYOND_LINT: dict[str, str] = {}
FIX_FLAGS = {"--fix", "--check"}  # what tells a fixing command from its checking twin


def make_commands(target: str) -> list[str]:
    """The commands `make <target>` runs, as make expands them (dry run, `install` skipped)."""
    result = subprocess.run(["make", "-s", "-n", "-o", "install", target], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def hooks(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for repo in config["repos"]:
        assert repo["repo"] == "local", "hooks run the project's own pinned tools, not downloaded copies"
        for hook in repo["hooks"]:
            assert hook["language"] == "system" and hook["id"] not in found
            found[hook["id"]] = hook
    return found


def command(hook: dict[str, Any]) -> str:
    return " ".join([hook["entry"], *hook.get("args", [])])


def unhooked(lint: list[str], precommit: dict[str, dict[str, Any]]) -> list[str]:
    """The `make lint` commands no hook runs as they are."""
    by_command = {command(hook) for hook in precommit.values()}
    return [line for line in lint if line not in by_command]


@pytest.fixture(scope="module")
def precommit() -> dict[str, dict[str, Any]]:
    return hooks(yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text()))


def test_every_make_lint_command_is_a_whole_tree_hook(precommit: dict[str, dict[str, Any]]) -> None:
    lint = make_commands("lint")
    assert any("ruff check" in line for line in lint) and any("mypy" in line for line in lint)
    missing = unhooked(lint, precommit)
    assert missing == [], f"make lint runs {missing}, which no hook runs: add it to .pre-commit-config.yaml"
    by_command = {command(hook): hook for hook in precommit.values()}
    partial = [line for line in lint if by_command[line].get("pass_filenames", True)]
    assert partial == [], f"hooks for {partial} must set pass_filenames: false to check what make lint checks"


def test_every_hook_is_in_make_lint_or_named_with_its_reason(precommit: dict[str, dict[str, Any]]) -> None:
    lint = set(make_commands("lint"))
    extra = sorted(hook_id for hook_id, hook in precommit.items() if command(hook) not in lint)
    assert extra == sorted(HOOKS_BEYOND_LINT), "a hook that make lint does not run needs its reason here"
    for hook_id in HOOKS_BEYOND_LINT:
        assert precommit[hook_id]["entry"] == f".venv/bin/{hook_id}"
        assert precommit[hook_id]["files"] == r"^\.github/workflows/"


def test_make_fmt_fixes_exactly_what_make_lint_checks_with_ruff() -> None:
    def checking_twin(line: str) -> tuple[str, ...]:
        return tuple(word for word in shlex.split(line) if word not in FIX_FLAGS)

    fmt = make_commands("fmt")
    ruff_lint = [line for line in make_commands("lint") if " ruff " in line]
    assert fmt and all("--fix" in line or " format" in line for line in fmt)
    assert sorted(map(checking_twin, fmt)) == sorted(map(checking_twin, ruff_lint))


def test_a_drifted_hook_is_caught(precommit: dict[str, dict[str, Any]]) -> None:
    drifted = {**precommit, "mypy": {**precommit["mypy"], "entry": ".venv/bin/python -m mypy modules"}}
    lint = make_commands("lint")
    newly_unhooked = set(unhooked(lint, drifted)) - set(unhooked(lint, precommit))
    assert newly_unhooked == {line for line in lint if " mypy " in line}
