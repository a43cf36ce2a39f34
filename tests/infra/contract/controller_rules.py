"""Contract rules for settings AWS changes after Terraform applied them: a value another
controller owns must not be in Terraform's diff, or every apply sets it back.

Controllers of this product: Application Auto Scaling (the table's and its index's
provisioned capacity, here) and CodeDeploy (each function's `live` alias,
rollout_rules.aliases_not_handed_to_codedeploy). SnapStart, KMS rotation, TTL and log
retention change nothing Terraform reads back.

Pure functions over the synthesized stacks (`{stack name: cdk.tf.json}`), one problem string
per broken setting; the AWS behaviour each relies on is cited next to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Stacks = Mapping[str, dict[str, Any]]

# What Terraform must leave alone once Application Auto Scaling manages a dimension
# (AWS "Managing throughput capacity automatically with DynamoDB auto scaling": the scaling
# policy calls UpdateTable to change the table's or a GSI's provisioned throughput).
# Terraform's aws_dynamodb_table holds the index capacity inside the `global_secondary_index`
# set, and `ignore_changes` cannot name an attribute inside one element of a set (Terraform
# "The lifecycle Meta-Argument": only attribute paths, no set elements), so the whole block
# is ignored (the provider's documentation recommends the dedicated index resource instead,
# which provider 5.100.0 does not have).
IGNORED_FOR_DIMENSION = {
    "dynamodb:table:ReadCapacityUnits": "read_capacity",
    "dynamodb:table:WriteCapacityUnits": "write_capacity",
    "dynamodb:index:ReadCapacityUnits": "global_secondary_index",
    "dynamodb:index:WriteCapacityUnits": "global_secondary_index",
}


def _resources(stack: Mapping[str, Any], rtype: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from stack.get("resource", {}).get(rtype, {}).items()


def _table_of(resource_id: str, tables: dict[str, tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, Any]] | None:
    """The table a scalable target's ResourceId (`table/<name>` or `table/<name>/index/<index>`)
    names, by its literal name or its Terraform reference."""
    name = resource_id.removeprefix("table/").split("/index/")[0]
    return tables.get(name)


def autoscaled_capacity_in_terraform(stacks: Stacks) -> list[str]:
    """Every dimension Application Auto Scaling manages is ignored by Terraform on the table,
    so a plan after a scale-out shows no change and an apply never sets the capacity back to
    the configured minimum (which would throttle writes and count a decrease against
    DynamoDB's daily limit: "Service, account, and table quotas in Amazon DynamoDB",
    decreasing provisioned throughput)."""
    problems = []
    for stack_name, stack in sorted(stacks.items()):
        tables: dict[str, tuple[str, dict[str, Any]]] = {}
        for logical, table in _resources(stack, "aws_dynamodb_table"):
            tables[str(table["name"])] = (logical, table)
            tables[f"${{aws_dynamodb_table.{logical}.name}}"] = (logical, table)
        for _logical, target in _resources(stack, "aws_appautoscaling_target"):
            if target.get("service_namespace") != "dynamodb":
                continue
            found = _table_of(str(target["resource_id"]), tables)
            if found is None:
                problems.append(f"{stack_name}: scalable target {target['resource_id']} names no table of this stack")
                continue
            logical, table = found
            needed = IGNORED_FOR_DIMENSION[target["scalable_dimension"]]
            ignored = set((table.get("lifecycle") or {}).get("ignore_changes") or [])
            if needed not in ignored and "all" not in ignored:
                problems.append(f"{stack_name}: aws_dynamodb_table.{logical} does not ignore {needed}, which "
                                f"Application Auto Scaling changes ({target['scalable_dimension']} of "
                                f"{target['resource_id']}); every apply after a scale-out sets it back")
    return problems


RULES = (autoscaled_capacity_in_terraform,)
