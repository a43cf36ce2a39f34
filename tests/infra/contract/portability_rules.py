"""Contract rules for what breaks outside the region, partition and account the stacks were
written in: zone letters that a region or account does not have, and ARNs spelled with the
`aws` partition.

Pure functions over the synthesized stacks (`{stack name: cdk.tf.json}`), one problem string
per broken setting; the AWS behaviour each relies on is cited next to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

Stacks = Mapping[str, dict[str, Any]]

# A subnet placed by the account's own zone list: `element(<zones lookup>.names, <index>)`.
_ZONE_ELEMENT = re.compile(r"^\$\{element\(data\.aws_availability_zones\.([^.]+)\.(names|zone_ids), (\d+)\)\}$")
# The postcondition that makes a region with too few zones a plan-time error naming az_count.
_ZONE_COUNT = re.compile(r"length\(self\.(names|zone_ids)\) >= (\d+)")
# An ARN with a literal partition: `aws` is one of several (aws-cn, aws-us-gov, aws-iso...).
# AWS "Identify AWS resources with Amazon Resource Names (ARNs)": the partition is part of the ARN.
_LITERAL_PARTITION = re.compile(r"arn:aws(-[a-z-]+)?:")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key != "//":
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def subnets_in_literal_zones(stacks: Stacks) -> list[str]:
    """Every subnet is placed in a zone the account's region lists (an aws_availability_zones
    lookup), and the lookup fails the plan when the region offers fewer zones than the
    subnets use; once created, a subnet keeps its zone whatever the list says later. AWS
    "Regions and Zones": a region has at least three zones for new regions but some have two,
    zone names are mapped to physical zones per account, and an account may not have every
    letter; CreateSubnet in a zone the account lacks fails mid-apply."""
    problems = []
    for stack_name, stack in sorted(stacks.items()):
        lookups = stack.get("data", {}).get("aws_availability_zones", {})
        needed: dict[str, int] = {}
        for logical, subnet in sorted(stack.get("resource", {}).get("aws_subnet", {}).items()):
            zone = str(subnet.get("availability_zone") or subnet.get("availability_zone_id") or "")
            match = _ZONE_ELEMENT.match(zone)
            if not match or match.group(1) not in lookups:
                problems.append(f"{stack_name}: aws_subnet.{logical} is placed in {zone or 'no zone'!r}, not in a "
                                "zone of the region's aws_availability_zones lookup")
                continue
            needed[match.group(1)] = max(needed.get(match.group(1), 0), int(match.group(3)) + 1)
            if "availability_zone" not in ((subnet.get("lifecycle") or {}).get("ignore_changes") or []):
                problems.append(f"{stack_name}: aws_subnet.{logical} follows the zone list after creation; a zone "
                                "AWS adds or withdraws would replace it (ignore_changes availability_zone)")
        for lookup, count in sorted(needed.items()):
            conditions = [c["condition"] for c in (lookups[lookup].get("lifecycle") or {}).get("postcondition") or []]
            bounds = [int(m.group(2)) for c in conditions for m in [_ZONE_COUNT.search(str(c))] if m]
            if not any(bound >= count for bound in bounds):
                problems.append(f"{stack_name}: subnets use {count} zones of aws_availability_zones.{lookup} but no "
                                "postcondition fails the plan when the region offers fewer (element() would wrap "
                                "around and put two subnets in one zone)")
    return problems


def literal_partition_arns(stacks: Stacks) -> list[str]:
    """No ARN is spelled with a literal partition: each comes from the stack's aws_partition
    lookup (or from a resource's own arn attribute), so the stacks deploy unchanged into
    aws-cn or aws-us-gov, where `arn:aws:` names nothing and policies built with it grant
    nothing."""
    problems = []
    for stack_name, stack in sorted(stacks.items()):
        for rtype_group in ("resource", "data", "output", "locals"):
            for text in _strings(stack.get(rtype_group, {})):
                for match in _LITERAL_PARTITION.finditer(text):
                    start = max(0, match.start() - 20)
                    problems.append(f"{stack_name}: literal partition in {text[start:match.end() + 40]!r}")
    return problems


RULES = (subnets_in_literal_zones, literal_partition_arns)
