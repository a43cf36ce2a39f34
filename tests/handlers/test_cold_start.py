"""A bad environment fails the cold start (module import) with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.handlers.helpers import ENVIRONMENT, REPO_ROOT


def _import(module: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO_ROOT), **environment}
    return subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("module", "name", "value", "message"),
    [
        ("handlers.api.app", "TABLE_NAME", None, "TABLE_NAME is required but not set"),
        ("handlers.api.app", "STATE_MACHINE_ARN", "not-an-arn", "STATE_MACHINE_ARN is invalid"),
        ("handlers.scheduled.digest", "EVENTS_TOPIC_ARN", None, "EVENTS_TOPIC_ARN is required but not set"),
        ("handlers.workflow.process", "POWERTOOLS_METRICS_NAMESPACE", None, "POWERTOOLS_METRICS_NAMESPACE is required"),
    ],
)
def test_init_fails_naming_the_variable(module: str, name: str, value: str | None, message: str) -> None:
    environment = {key: val for key, val in ENVIRONMENT.items() if key != name}
    if value is not None:
        environment[name] = value

    result = _import(module, environment)

    assert result.returncode != 0
    assert "ConfigurationError" in result.stderr
    assert message in result.stderr


def test_a_function_does_not_require_variables_it_does_not_use() -> None:
    environment = {key: val for key, val in ENVIRONMENT.items() if key not in {"TABLE_NAME", "STATE_MACHINE_ARN"}}

    result = _import("handlers.stream.consumer", environment)

    assert result.returncode == 0, result.stderr
