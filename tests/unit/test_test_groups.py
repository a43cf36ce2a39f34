"""`make test` relies on pytest-xdist keeping a group's tests on one worker (tests/conftest.py): the e2e
deployments, the local-mode emulator and the infra synth are per process. This runs the installed pytest
and pytest-xdist on a small project grouped the same way (a marker added in `pytest_collection_modifyitems`)
and fails when they stop honouring it, as pytest 9.2 with pytest-xdist 3.8 does (Pipfile pins pytest)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import E2E_GROUPS, E2E_ORDER, LOCALMODE_OWN_GROUPS, group_of, run_order

CONFTEST = '''
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name.startswith("test_grouped"):
            item.add_marker(pytest.mark.xdist_group("shared"))
'''
TEST = '''
import os

def test_{n}(tmp_path_factory):
    out = tmp_path_factory.getbasetemp().parent.parent / "workers"
    out.mkdir(exist_ok=True)
    (out / "{name}-{n}").write_text(os.environ["PYTEST_XDIST_WORKER"])
'''


def test_a_group_added_at_collection_runs_on_one_worker(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "base").mkdir()
    (project / "conftest.py").write_text(CONFTEST)
    for name in ("test_grouped_a", "test_grouped_b", "test_free"):
        (project / f"{name}.py").write_text("".join(TEST.format(n=n, name=name) for n in range(4)))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup",
         "--no-loadscope-reorder", f"--basetemp={tmp_path / 'base' / 'run'}", "-q", str(project)],
        cwd=project, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    ran = {path.name: path.read_text() for path in (tmp_path / "base" / "workers").iterdir()}
    grouped = {worker for name, worker in ran.items() if name.startswith("test_grouped")}
    assert len(ran) == 12
    assert len(grouped) == 1, f"the group ran on {sorted(grouped)}: xdist no longer honours xdist_group"


def test_every_e2e_module_has_a_group_and_the_suites_sharing_a_process_have_one() -> None:
    tests = Path(__file__).resolve().parents[1]
    assert sorted(path.name for path in (tests / "e2e").glob("test_*.py")) == sorted(E2E_GROUPS)
    assert group_of(tests / "localmode" / "test_emulator.py") == "localmode"
    assert group_of(tests / "localmode" / "test_up.py") == "localmode-up"
    assert group_of(tests / "infra" / "test_tools.py") == "infra"
    assert group_of(tests / "unit" / "test_routes_table.py") is None


def test_every_e2e_group_has_its_place_in_the_order() -> None:
    assert sorted(set(E2E_GROUPS.values())) == sorted(E2E_ORDER) and len(set(E2E_ORDER)) == len(E2E_ORDER)


def test_without_workers_the_e2e_modules_run_in_the_files_order_destroy_last() -> None:
    # One deployment serves them all (`make e2e`): the groups' order would destroy it mid-run.
    tests = Path(__file__).resolve().parents[1]
    e2e = sorted((tests / "e2e").glob("test_*.py"))
    paths = [tests / "unit" / "test_routes_table.py", tests / "infra" / "test_tools.py", *e2e]
    alone = [paths[index] for index in run_order(paths, with_workers=False)]
    assert alone == paths and alone[-1].name == "test_3_destroy.py"
    grouped = [paths[index] for index in run_order(paths, with_workers=True)]
    assert [group_of(path) for path in grouped[2:]] == sorted(
        (group_of(path) for path in e2e), key=E2E_ORDER.index)
    assert grouped[:2] == paths[:2]


def package_fixtures(conftest: Path) -> set[str]:
    """The names of the package-scoped fixtures a conftest defines."""
    names = set()
    for node in ast.walk(ast.parse(conftest.read_text())):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                scopes = [ast.literal_eval(k.value) for k in getattr(decorator, "keywords", []) if k.arg == "scope"]
                if ast.unparse(decorator).startswith("pytest.fixture") and scopes == ["package"]:
                    names.add(node.name)
    return names


def requested(module: Path) -> set[str]:
    """The fixtures the module's tests and fixtures may request: every parameter name of its
    functions, and every name given to `usefixtures`."""
    nodes = list(ast.walk(ast.parse(module.read_text())))
    parameters = {arg.arg for node in nodes if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                  for arg in node.args.args}
    used = {arg.value for node in nodes if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("usefixtures")
            for arg in node.args if isinstance(arg, ast.Constant)}
    return parameters | used


def test_local_mode_modules_in_groups_of_their_own_use_none_of_the_package_fixtures(tmp_path: Path) -> None:
    # They run on another worker than the package's emulator: one of them asking for it would
    # start a second emulator and deployment there.
    localmode = Path(__file__).resolve().parents[1] / "localmode"
    shared = package_fixtures(localmode / "conftest.py")
    assert {"emulator", "deployment", "local_api"} <= shared
    assert {name: requested(localmode / name) & shared for name in LOCALMODE_OWN_GROUPS} == dict.fromkeys(
        LOCALMODE_OWN_GROUPS, set())
    # Shown to fail: a module of its own group that asks for the deployment
    asking = tmp_path / "test_asking.py"
    asking.write_text("import pytest\n\n@pytest.mark.usefixtures('local_api')\n"
                      "def test_it(deployment):\n    assert deployment\n")
    assert requested(asking) & shared == {"deployment", "local_api"}
