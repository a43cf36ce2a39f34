"""Settings AWS controllers change after apply (tests/infra/contract/controller_rules.py):
each rule names the problem on a deliberately broken copy (tests/infra/test_contract_stacks.py
runs it on the real synth of every workspace, both API kinds)."""

from __future__ import annotations

from tests.infra.contract import controller_rules
from tests.infra.synthesized import copied_stacks


def test_the_rule_reports_an_autoscaled_index_terraform_sets_back(synth):
    # Given prod's table as it was: the table's capacity ignored, the index's not
    stacks = copied_stacks(synth)
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
