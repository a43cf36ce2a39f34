"""How `make test` spreads the suites over pytest-xdist workers (``-n`` workers, ``--dist loadgroup``).

A group's tests run on one worker, one after the other; tests outside any group go wherever a worker
is free. Tests that share something process-wide are grouped:

* ``tests/localmode``: one in-process emulator per package (moto's state is process-wide); its modules
  that never use that emulator (`make up` in subprocesses, the synth's records) are groups of their own
  (LOCALMODE_OWN_GROUPS), so they run beside it on the other worker;
* ``tests/infra``: one synth of every workspace, and its ``terraform validate`` and checkov runs;
* ``tests/e2e``: four groups, each with its own copy of the session's one deployment of the `local`
  workspace (Terraform deploys it once, in the background; each group restores it into its own
  emulator: tests/e2e/conftest.py), so the groups run side by side and none sees another's changes.

Unit and handler tests use moto's in-process mock, whose start empties every backend of the process:
they never run while a worker's emulator is up, because a worker ends its emulator (package scope, or
tests/e2e/conftest.py's release) before it leaves the group for another test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
E2E_GROUPS = {
    "test_1_cors.py": "e2e-api", "test_1_local_mode.py": "e2e-api", "test_2_robustness.py": "e2e-api",
    "test_2a_warm_start.py": "e2e-api",
    "test_2b_plan_review.py": "e2e-plan",
    "test_2c_rollout.py": "e2e-rollout", "test_2d_delivery.py": "e2e-rollout",
    "test_2d_hotswap.py": "e2e-hotswap", "test_3_destroy.py": "e2e-hotswap",
}
# The order the e2e groups are handed out in, so that both workers end together. A worker takes
# its next group as soon as 2 tests of its current one are left (xdist's loadgroup), so the second
# worker to reach e2e, on e2e-hotswap (3 long tests), takes the third group one test in, long before
# the first one's e2e-rollout (6 tests) nears its end and takes the last. The first to arrive gets
# the larger pair. Measured (seconds of a worker): rollout 114 + api 108 beside hotswap 138 + plan 73.
E2E_ORDER = ("e2e-rollout", "e2e-hotswap", "e2e-plan", "e2e-api")
SHARED_GROUPS = {"localmode": "localmode", "infra": "infra"}
# Modules of tests/localmode that use none of its package fixtures (the emulator and what is deployed
# into it), each group sharing its module fixtures (a synth of the checkout's copy).
LOCALMODE_OWN_GROUPS = {"test_up.py": "localmode-up", "test_code_resynth.py": "localmode-synth",
                        "test_synth_cache.py": "localmode-synth"}


def group_of(path: Path) -> str | None:
    """The xdist group of the test file at ``path`` (None: any worker)."""
    suite = path.relative_to(TESTS).parts[0]
    if suite == "e2e":
        if path.name not in E2E_GROUPS:
            raise pytest.UsageError(f"{path.name} is not in tests/conftest.py's E2E_GROUPS: add it to a group "
                                    "(a new group deploys the local workspace once more)")
        return E2E_GROUPS[path.name]
    if suite == "localmode" and path.name in LOCALMODE_OWN_GROUPS:
        return LOCALMODE_OWN_GROUPS[path.name]
    return SHARED_GROUPS.get(suite)


def under_xdist() -> bool:
    return "PYTEST_XDIST_WORKER" in os.environ


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        group = group_of(item.path)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    order = run_order([item.path for item in items], under_xdist())
    items[:] = [items[index] for index in order]


def run_order(paths: list[Path], with_workers: bool) -> list[int]:
    """The order (indexes into `paths`, collected in `testpaths` order, e2e last) the tests run in.
    Under workers, the e2e groups in E2E_ORDER, each module's tests in their own order. Without
    workers, one deployment serves every e2e module (tests/e2e/conftest.py), so the files' order
    stands: test_3_destroy, which destroys it, comes last."""
    if not with_workers:
        return list(range(len(paths)))
    groups = [group_of(path) for path in paths]
    return sorted(range(len(paths)), key=lambda index: (
        E2E_ORDER.index(groups[index]) if groups[index] in E2E_ORDER else -1, index))
