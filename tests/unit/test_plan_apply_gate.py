"""The deploy's gate (delivery.plan_review.compare / apply.check_review) on small reviews:
a fresh plan equal to the review passes; every kind of difference is refused, named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from delivery.plan_review.apply import Refused, check_review
from delivery.plan_review.compare import differences
from delivery.plan_review.model import AttributeChange, ResourceChange, StackReview, WorkspaceReview

MEMORY = ResourceChange("aws_lambda_function.digest", "aws_lambda_function", "change", "local-app/app/digest/function",
                        (AttributeChange("memory_size", "512", "1024"),))
KEY = ResourceChange("aws_api_gateway_api_key.key", "aws_api_gateway_api_key", "change", None,
                     (AttributeChange("value", "(sensitive)", "(sensitive)"),))


def stack(*changes: ResourceChange) -> StackReview:
    return StackReview("local-app", "planned", {"change": len(changes)}, changes)


def test_a_fresh_plan_equal_to_the_review_passes():
    assert differences("local-app", stack(MEMORY, KEY), stack(KEY, MEMORY)) == []


def test_another_attribute_value_is_refused_without_printing_values():
    other = dataclasses.replace(MEMORY, attributes=(AttributeChange("memory_size", "512", "4096"),))
    problems = differences("local-app", stack(MEMORY), stack(other))
    assert problems == ["local-app: changes differ from the review in action or attribute values for "
                        "aws_lambda_function.digest"]
    assert "4096" not in problems[0]


def test_a_change_the_review_did_not_show_is_refused():
    problems = differences("local-app", stack(MEMORY), stack(MEMORY, KEY))
    assert problems == ["local-app: the plan now also would change aws_api_gateway_api_key.key"]


def test_a_reviewed_change_the_plan_no_longer_makes_is_refused():
    problems = differences("local-app", stack(MEMORY, KEY), stack(MEMORY))
    assert problems == ["local-app: the review showed change aws_api_gateway_api_key.key, which the plan no "
                        "longer does"]


def test_a_stateful_replace_needs_an_allowed_review_of_it():
    table = ResourceChange("aws_dynamodb_table.items", "aws_dynamodb_table", "replace", None, (), ("range_key",),
                           stateful=True, allowed=False)
    assert differences("local-data", stack(table), stack(table)) == [
        "local-data: would destroy or replace stateful aws_dynamodb_table.items without an allowed review of it"]
    allowed = dataclasses.replace(table, allowed=True)
    assert differences("local-data", stack(allowed), stack(table)) == []


REVIEW = WorkspaceReview("local", (stack(MEMORY),), "a" * 64, "c0ffee")


def test_the_review_of_another_commit_is_refused(tmp_path: Path):
    with pytest.raises(Refused, match="the review is of commit c0ffee, not of the merged pull request's head beef"):
        check_review(REVIEW, tmp_path / "local.json", "beef", "a" * 64)


def test_a_review_artefact_with_a_saved_plan_is_refused(tmp_path: Path):
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "local-app.tfplan").write_bytes(b"PK")
    with pytest.raises(Refused, match=r"carries saved plans \(local-app.tfplan\)"):
        check_review(REVIEW, tmp_path / "local.json", "c0ffee", "a" * 64)


def test_other_synthesized_stacks_are_refused(tmp_path: Path):
    with pytest.raises(Refused, match="differ from the reviewed ones"):
        check_review(REVIEW, tmp_path / "local.json", "c0ffee", "b" * 64)
    check_review(REVIEW, tmp_path / "local.json", "c0ffee", "a" * 64)  # the matching case passes
