"""Outputs read across layers and by local mode, the e2e tests and operators. Each stateful layer's
own outputs are pinned next to its resources (test_bootstrap_outputs, test_security_outputs,
test_network_outputs, test_data_outputs)."""

from __future__ import annotations

import pytest

from modules.catalog import FUNCTIONS
from modules.config import WORKSPACES


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_app_and_observability_outputs_in_every_workspace(synth, workspace):
    """The stateless layers' outputs local mode, the e2e tests and operators read."""
    app = set(synth.stack(f"{workspace}-app")["output"])
    functions = {f"{spec.name.replace('-', '_')}_function_name" for spec in FUNCTIONS}
    assert {"api_url", "api_id", "api_alias_arn", "state_machine_arn", "api_key_id", "api_key_value"} | functions <= app
    observability = set(synth.stack(f"{workspace}-observability")["output"])
    assert {"alert_topic_arn", "dashboard_url", "api_url"} <= observability


def undescribed_outputs(stacks: dict[str, dict]) -> list[str]:
    """`stack: output` for each output without a description. cdktf's own cross-stack outputs
    (`cross-stack-output-...`) are plumbing it writes itself and cannot describe."""
    return [f"{name}: {output}" for name, stack in sorted(stacks.items())
            for output, body in sorted(stack.get("output", {}).items())
            if not output.startswith("cross-stack-output-") and not body.get("description")]


def test_every_output_of_every_stack_says_what_it_is(synth):
    stacks = {name: synth.stack(name) for name in synth.stack_names()}
    assert len(stacks) >= 20 and undescribed_outputs(stacks) == []


def test_an_output_without_a_description_is_named():
    stacks = {"dev-data": {"output": {"table_name": {"value": "t"}, "cross-stack-output-x": {"value": "x"},
                                      "code_bucket_name": {"value": "b", "description": "the code bucket"}}}}
    assert undescribed_outputs(stacks) == ["dev-data: table_name"]
