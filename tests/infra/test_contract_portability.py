"""Portability (tests/infra/contract/portability_rules.py): each rule names the problem on a
deliberately broken copy (tests/infra/test_contract_stacks.py runs it on the real synth)."""

from __future__ import annotations

from tests.infra.contract import portability_rules
from tests.infra.synthesized import copied_stacks


def test_the_rule_reports_subnets_in_literal_zone_letters(synth):
    # Given prod's subnets as they were: us-west-2a, b, c
    stacks = copied_stacks(synth)
    subnets = stacks["prod-network"]["resource"]["aws_subnet"]
    for logical, subnet in subnets.items():
        subnet["availability_zone"] = "us-west-2" + "abc"[int(logical.split("_")[2])]
        del subnet["lifecycle"]
    problems = portability_rules.subnets_in_literal_zones(stacks)
    assert len(problems) == 6 and problems[0].startswith("prod-network: aws_subnet.")
    assert problems[0].endswith("is placed in 'us-west-2a', not in a zone of the region's aws_availability_zones "
                                "lookup")


def test_the_rule_reports_a_subnet_that_follows_the_zone_list(synth):
    stacks = copied_stacks(synth)
    [(logical, subnet)] = [(k, s) for k, s in stacks["dev-network"]["resource"]["aws_subnet"].items()
                           if "private_1" in k]
    del subnet["lifecycle"]
    assert portability_rules.subnets_in_literal_zones(stacks) == [
        f"dev-network: aws_subnet.{logical} follows the zone list after creation; a zone AWS adds or withdraws would "
        "replace it (ignore_changes availability_zone)"]


def test_the_rule_reports_a_zone_lookup_without_the_count_check(synth):
    stacks = copied_stacks(synth)
    [(lookup, zones)] = stacks["prod-network"]["data"]["aws_availability_zones"].items()
    del zones["lifecycle"]
    assert portability_rules.subnets_in_literal_zones(stacks) == [
        f"prod-network: subnets use 3 zones of aws_availability_zones.{lookup} but no postcondition fails the plan "
        "when the region offers fewer (element() would wrap around and put two subnets in one zone)"]


def test_the_rule_reports_a_literal_partition(synth):
    # Given the dead-letter queue policy as it was: the schedule rule's ARN spelled arn:aws:
    stacks = copied_stacks(synth)
    policy = next(p for p in stacks["dev-data"]["resource"]["aws_sqs_queue_policy"].values()
                  if "ScheduleDeadLetters" in p["policy"])
    policy["policy"] = policy["policy"].replace("arn:${data.aws_partition.", "arn:aws:${data.aws_partition.", 1)
    problems = portability_rules.literal_partition_arns(stacks)
    assert len(problems) == 1 and problems[0].startswith("dev-data: literal partition in ")
