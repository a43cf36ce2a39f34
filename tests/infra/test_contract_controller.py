"""Settings AWS controllers change after apply (tests/infra/contract/controller_rules.py):
each rule holds on the real synth of every workspace (both API kinds) and names the problem
on a deliberately broken copy."""

from __future__ import annotations

import copy

import pytest

from tests.infra.contract import controller_rules
from tests.infra.contract.controller_rules import RULES


def all_stacks(synth):
    return {name: copy.deepcopy(synth.stack(name)) for name in synth.stack_names()}


@pytest.mark.parametrize("kind", ["synth", "synth_http"])
@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_no_controller_owned_setting_is_in_terraforms_diff(request, kind, rule):
    assert rule(all_stacks(request.getfixturevalue(kind))) == []


def test_the_rule_reports_an_autoscaled_index_terraform_sets_back(synth):
    # Given prod's table as it was: the table's capacity ignored, the index's not
    stacks = all_stacks(synth)
    [(logical, table)] = [(k, t) for k, t in stacks["prod-data"]["resource"]["aws_dynamodb_table"].items()
                          if t["name"].endswith("-items")]
    table["lifecycle"]["ignore_changes"] = ["read_capacity", "write_capacity"]
    problems = controller_rules.autoscaled_capacity_in_terraform(stacks)
    assert problems == [
        f"prod-data: aws_dynamodb_table.{logical} does not ignore global_secondary_index, which Application Auto "
        f"Scaling changes (dynamodb:index:{unit}CapacityUnits of table/${{aws_dynamodb_table.{logical}.name}}"
        f"/index/GSI1); every apply after a scale-out sets it back"
        for unit in ("Read", "Write")]
    # And the table's own dimensions are checked the same way
    table["lifecycle"]["ignore_changes"] = ["global_secondary_index"]
    assert len(controller_rules.autoscaled_capacity_in_terraform(stacks)) == 2
