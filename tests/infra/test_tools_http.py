"""Real tools on the HTTP API kind (`API_KIND=http`): the stacks that do not depend on the
API kind are byte-identical to the REST synth's (validated and scanned by test_tools.py);
every stack that differs gets its own terraform validate and checkov scan."""

from __future__ import annotations

import pytest

from modules.config import WORKSPACES
from tests.infra.conftest import http_module
from tests.infra.test_stacks import expected_stacks

# Layers built without looking at `api.kind`.
KIND_INDEPENDENT_LAYERS = ("security", "network", "data")
KIND_DEPENDENT_LAYERS = ("app", "observability")
HTTP_ONLY_STACKS = [f"{workspace}-{layer}" for workspace in WORKSPACES for layer in KIND_DEPENDENT_LAYERS]


def kind_independent_stacks() -> list[str]:
    # (`ci` is not: its policies follow the API kind's resource types.)
    return [s for s in expected_stacks() if s == "bootstrap" or s.split("-", 1)[-1] in KIND_INDEPENDENT_LAYERS]


def test_http_kind_synthesizes_the_same_stacks(synth, synth_http):
    assert synth_http.stack_names() == synth.stack_names() == expected_stacks()
    assert sorted([*kind_independent_stacks(), *HTTP_ONLY_STACKS, "ci"]) == expected_stacks()


@pytest.mark.parametrize("stack", kind_independent_stacks())
def test_kind_independent_stacks_are_byte_identical(synth, synth_http, stack):
    # Given the same workspaces synthesized with each API kind,
    # then these stacks are the same bytes, so test_tools.py's validate and checkov cover both.
    rest_file = synth.stacks_dir / stack / "cdk.tf.json"
    http_file = synth_http.stacks_dir / stack / "cdk.tf.json"
    assert rest_file.read_bytes() == http_file.read_bytes(), stack


@pytest.mark.parametrize("stack", HTTP_ONLY_STACKS)
def test_kind_dependent_stacks_differ(synth, synth_http, stack):
    # They differ, which is why each is validated and scanned below.
    assert synth.stack(stack) != synth_http.stack(stack)


@pytest.mark.terraform
@pytest.mark.parametrize("stack", HTTP_ONLY_STACKS)
def test_terraform_validate_http_kind(synth_http, tool_runs, stack):
    validation = tool_runs.validation.result()
    assert validation.modules[http_module(stack)] == synth_http.stacks_dir / stack
    assert validation.problems(http_module(stack)) == []
    assert validation.unattributed() == []


@pytest.mark.slow
def test_checkov_zero_failed_checks_http_kind(synth_http, tool_runs):
    # Scan exactly the stacks that differ from the REST kind, with the checked-in config.
    scanned = tool_runs.http_scan_dir
    assert sorted(p.name for p in scanned.iterdir()) == sorted(HTTP_ONLY_STACKS)
    assert all((scanned / stack / "cdk.tf.json").read_bytes()
               == (synth_http.stacks_dir / stack / "cdk.tf.json").read_bytes() for stack in HTTP_ONLY_STACKS)
    report = tool_runs.start_checkov(scanned).result()
    assert report.parsing_errors == 0
    assert report.failed == []
    assert report.passed > 100  # every scanned stack was really scanned
