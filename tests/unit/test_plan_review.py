"""The plan review's summarizer and renderer (`delivery/plan_review/`) on `terraform show
-json` documents: hand-trimmed ones (`fixtures/plans/trimmed.*`) and ones recorded from
real plans of the `local` workspace in the emulator (`fixtures/plans/*.json.gz`, see
`fixtures/plans/record.py`)."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from delivery.plan_review.comment import comment
from delivery.plan_review.model import (
    AttributeChange,
    ResourceChange,
    StackReview,
    WorkspaceReview,
    review_from_json,
)
from delivery.plan_review.render import GITHUB_COMMENT_LIMIT, render
from delivery.plan_review.runner import plan_stacks, synth_hash
from delivery.plan_review.stateful import STATEFUL_TYPES
from delivery.plan_review.summary import kind_of, summarize
from delivery.stacks import Stack

PLANS = Path(__file__).parent / "fixtures" / "plans"


def load(name: str) -> dict[str, Any]:
    path = PLANS / name
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt") as handle:
        return json.load(handle)


def recorded(case: str, stack: str, allowed: tuple[str, ...] = ()) -> StackReview:
    return summarize(stack, load(f"{case}.{stack}.json.gz"), load(f"{case}.{stack}.cdk.tf.json"), allowed)


def trimmed(allowed: tuple[str, ...] = ()) -> StackReview:
    return summarize("local-data", load("trimmed.plan.json"), load("trimmed.cdk.tf.json"), allowed)


def workspace(*stacks: StackReview) -> WorkspaceReview:
    return WorkspaceReview("local", stacks, "0" * 64, "abc123")


def serialized(review: WorkspaceReview) -> str:
    return json.dumps(dataclasses.asdict(review)) + render(review)


def by_address(review: StackReview) -> dict[str, ResourceChange]:
    return {change.address: change for change in review.changes}


# Hand-trimmed documents: one of each kind of change.

def test_counts_every_managed_resource_by_kind_and_ignores_data_sources():
    review = trimmed()
    assert review.counts == {"add": 1, "change": 1, "replace": 2, "destroy": 2, "unchanged": 1}
    assert "data.aws_caller_identity.caller" not in by_address(review)
    assert by_address(review)["aws_sqs_queue.extra"].kind == "add"
    assert by_address(review)["aws_sqs_queue.dlq_digest"].kind == "destroy"


def test_an_update_lists_only_the_attributes_that_change_with_the_construct_path():
    change = by_address(trimmed())["aws_lambda_function.fn_digest"]
    assert change.construct_path == "local-app/app/digest/function"
    attributes = {a.path: a for a in change.attributes}
    assert attributes["memory_size"] == AttributeChange("memory_size", "384", "1024")
    assert attributes["environment[0].variables.LOG_LEVEL"].after == '"DEBUG"'
    assert "timeout" not in attributes and "tags.Layer" not in attributes


def test_sensitive_values_are_redacted_and_never_copied():
    review = trimmed()
    attributes = {a.path: a for a in by_address(review)["aws_lambda_function.fn_digest"].attributes}
    assert attributes["environment[0].variables.TABLE_NAME"] == AttributeChange(
        "environment[0].variables.TABLE_NAME", "(sensitive)", "(sensitive)")
    key = by_address(review)["aws_api_gateway_api_key.key"]
    assert [(a.path, a.before, a.after, a.forces_replacement) for a in key.attributes if a.path == "value"] == [
        ("value", "(sensitive)", "(sensitive)", True)]
    text = serialized(workspace(review))
    for secret in ("old-table-secret-name", "new-table-secret-name", "OLD-KEY-never-shown", "NEW-KEY-never-shown",
                   "arn:old"):
        assert secret not in text


def test_unknown_values_are_known_after_apply():
    attributes = {a.path: a for a in by_address(trimmed())["aws_lambda_function.fn_digest"].attributes}
    assert attributes["version"] == AttributeChange("version", '"3"', "(known after apply)")


def test_a_replace_names_the_attribute_that_forces_it_and_a_stateful_one_blocks():
    review = trimmed()
    table = by_address(review)["aws_dynamodb_table.items"]
    assert (table.kind, table.replace_paths, table.stateful, table.allowed) == ("replace", ("range_key",), True, False)
    assert [a.path for a in table.attributes if a.forces_replacement] == ["range_key"]
    assert workspace(review).exit_code == 3
    markdown = render(workspace(review))
    banner = markdown.split("| Stack |")[0]
    assert "**blocked**: **replace** `aws_dynamodb_table.items`" in banner
    assert "`local-data/data/table`" in banner and "forced by `range_key`" in banner
    assert "**blocked**: **destroy** `aws_sqs_queue.dlq_digest`" in banner


def test_only_stateful_types_destroyed_or_replaced_are_gated():
    review = trimmed()
    gated = {c.address for c in review.changes if c.stateful}
    assert gated == {"aws_dynamodb_table.items", "aws_sqs_queue.dlq_digest"}  # not the role policy, key, new queue
    assert {"aws_dynamodb_table", "aws_s3_bucket", "aws_kms_key", "aws_sqs_queue",
            "aws_cloudwatch_log_group"} <= set(STATEFUL_TYPES)


@pytest.mark.parametrize("allowed, code", [
    ((), 3),
    (("aws_dynamodb_table.items",), 3),  # the queue's destroy is still not allowed
    (("aws_dynamodb_table.items", "local-data:aws_sqs_queue.dlq_digest"), 2),
    (("*",), 2),
    (("other-stack:aws_dynamodb_table.items", "aws_sqs_queue.dlq_digest"), 3),
])
def test_allowing_stateful_changes_by_address(allowed, code):
    review = trimmed(allowed)
    assert workspace(review).exit_code == code
    banner = render(workspace(review)).split("| Stack |")[0]
    assert ("**blocked**" in banner) == (code == 3)


def test_drift_is_reported_as_terraform_reports_it():
    drift = {d.address: d for d in trimmed().drift}
    assert set(drift) == {"aws_lambda_function.fn_digest", "aws_sns_topic.gone"}  # not the normalized policy
    assert [(a.path, a.before, a.after) for a in drift["aws_lambda_function.fn_digest"].attributes] == [
        ("memory_size", "256", "384")]
    assert drift["aws_sns_topic.gone"].kind == "deleted"
    notes = render(workspace(trimmed())).split("### Notes")[1]
    expected = "`aws_lambda_function.fn_digest` (`local-app/app/digest/function`) changed outside Terraform"
    assert f"{expected}: `memory_size` `256` → `384`" in notes


def test_changed_outputs_are_named_without_their_values():
    review = trimmed()
    assert review.changed_outputs == ("table_arn",)
    assert review.deployed


def test_unknown_plan_actions_are_an_error():
    with pytest.raises(ValueError, match="unknown plan actions"):
        kind_of(["create", "teleport"])


# The review's layout and exit codes.

def planned(name: str, **counts: int) -> StackReview:
    return StackReview(stack=name, status="planned",
                       counts={"add": 0, "change": 0, "replace": 0, "destroy": 0, "unchanged": 3, **counts})


def test_exit_codes():
    assert workspace(planned("local-security")).exit_code == 0
    assert workspace(planned("local-security", change=1)).exit_code == 2
    waits = StackReview("local-app", "waits", waits_on="local-data", reason="waits on `local-data`")
    assert workspace(planned("local-data"), waits).exit_code == 2
    error = StackReview("local-data", "error", reason="terraform plan failed")
    assert workspace(trimmed(), error).exit_code == 1


def test_the_banner_then_the_summary_table_come_first_and_details_collapse():
    markdown = render(workspace(trimmed(), planned("local-app")))
    assert markdown.index("[!CAUTION]") < markdown.index("| Stack | Add | Change | Replace | Destroy | Unchanged |")
    assert markdown.index("| Stack |") < markdown.index("<details>") < markdown.index("### Notes")
    assert "| `local-data` | 1 | 1 | 2 | 2 | 1 | changes |" in markdown
    assert "| `local-app` | 0 | 0 | 0 | 0 | 3 | no changes |" in markdown
    assert "<summary><code>local-data</code>: 1 to add, 1 to change, 2 to replace, 2 to destroy</summary>" in markdown


def big_review(stacks: int = 4, per_stack: int = 1500) -> WorkspaceReview:
    """A synthetic plan with thousands of changes, long values and stateful replacements."""
    reviews = []
    for s in range(stacks):
        changes = [ResourceChange(
            address=f"aws_lambda_function.function_{s}_{i}", type="aws_lambda_function", kind="change",
            construct_path=f"dev-app/app/function_{i}/function",
            attributes=(AttributeChange("environment[0].variables.POLICY", f'"{"x" * 400}"', f'"{"y" * 400}"'),
                        AttributeChange("memory_size", "256", "512")))
            for i in range(per_stack)]
        changes += [ResourceChange(f"aws_dynamodb_table.table_{s}_{i}", "aws_dynamodb_table", "replace",
                                   f"dev-data/data/table_{i}", (AttributeChange("range_key", '"sk"', '"sk2"', True),),
                                   ("range_key",), stateful=True) for i in range(5)]
        counts = {"add": 0, "change": per_stack, "replace": 5, "destroy": 0, "unchanged": 7}
        reviews.append(StackReview(f"dev-stack{s}", "planned", counts, tuple(changes)))
    return WorkspaceReview("dev", tuple(reviews), "f" * 64)


def test_thousands_of_changes_fit_a_github_comment_with_the_table_and_banner_whole():
    review = big_review()
    markdown = render(review)
    assert len(markdown) <= GITHUB_COMMENT_LIMIT
    assert "Details shortened to fit a GitHub comment" in markdown
    for s in range(4):
        assert f"| `dev-stack{s}` | 0 | 1500 | 5 | 0 | 7 | changes |" in markdown
        for i in range(5):
            assert f"**blocked**: **replace** `aws_dynamodb_table.table_{s}_{i}` in `dev-stack{s}`" in markdown
    full = render(review, budget=10**9)
    assert len(full) > 10 * GITHUB_COMMENT_LIMIT  # so the budget really did shorten it


def test_a_small_review_is_not_shortened():
    assert "Details shortened" not in render(workspace(trimmed()))


def test_one_comment_for_three_workspaces_fits_and_keeps_each_table(tmp_path):
    paths = []
    for name in ("dev", "staging", "prod"):
        review = dataclasses.replace(big_review(stacks=2, per_stack=800), workspace=name)
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(dataclasses.asdict(review)))
        paths.append(path)
    text = comment(paths)
    assert len(text) <= GITHUB_COMMENT_LIMIT
    assert text.startswith("<!-- plan-review -->")
    for name in ("dev", "staging", "prod"):
        assert f"## Plan review: `{name}`" in text


def test_the_json_review_reads_back_unchanged():
    review = workspace(trimmed(), planned("local-app"))
    assert review_from_json(json.loads(json.dumps(dataclasses.asdict(review)))) == review


# Running stacks: waits and the synth hash.

def test_a_stack_whose_upstream_is_not_deployed_waits_on_it(tmp_path):
    stacks = [Stack("local-security", tmp_path, ()), Stack("local-data", tmp_path, ("local-security",)),
              Stack("local-app", tmp_path, ("local-security", "local-data")),
              Stack("local-observability", tmp_path, ("local-app",))]

    class Planner:
        log = staticmethod(lambda _line: None)

        def __call__(self, stack: Stack) -> StackReview:
            review = planned(stack.name, add=4)
            return dataclasses.replace(review, deployed=stack.name != "local-data")

    reviews = {r.stack: r for r in plan_stacks(stacks, Planner(), max_parallel=2)}  # type: ignore[arg-type]
    assert reviews["local-security"].status == reviews["local-data"].status == "planned"
    assert (reviews["local-app"].status, reviews["local-app"].waits_on) == ("waits", "local-data")
    assert "not deployed yet" in str(reviews["local-app"].reason)
    # It waits on what stops its upstream too: local-data, not local-app.
    assert (reviews["local-observability"].status, reviews["local-observability"].waits_on) == ("waits", "local-data")
    assert reviews["local-observability"].reason == reviews["local-app"].reason
    markdown = render(WorkspaceReview("local", tuple(reviews.values()), "0" * 64))
    assert "| `local-app` | – | – | – | – | – | waits on `local-data` |" in markdown


def test_a_failed_stack_is_an_error_and_its_dependents_wait(tmp_path):
    stacks = [Stack("local-security", tmp_path, ()), Stack("local-data", tmp_path, ("local-security",))]

    class Planner:
        log = staticmethod(lambda _line: None)

        def __call__(self, stack: Stack) -> StackReview:
            raise RuntimeError("terraform init failed in x: the state bucket does not exist")

    reviews = plan_stacks(stacks, Planner(), max_parallel=2)  # type: ignore[arg-type]
    assert [r.status for r in reviews] == ["error", "waits"]
    assert "state bucket does not exist" in str(reviews[0].reason)
    assert reviews[1].reason == "not planned: `local-security` failed"
    assert "| `local-data` | – | – | – | – | – | not planned: `local-security` failed |" in render(
        WorkspaceReview("local", tuple(reviews), "0" * 64))
    assert WorkspaceReview("local", tuple(reviews), "0" * 64).exit_code == 1


def test_the_synth_hash_covers_configuration_and_assets_but_not_terraform_files(tmp_path):
    stack_dir = tmp_path / "stacks" / "dev-app"
    (stack_dir / "assets").mkdir(parents=True)
    (stack_dir / "cdk.tf.json").write_text("{}")
    (stack_dir / "assets" / "code.zip").write_bytes(b"zip")
    stack = Stack("dev-app", stack_dir, ())
    first = synth_hash([stack])
    (stack_dir / ".terraform").mkdir()
    (stack_dir / ".terraform" / "terraform.tfstate").write_text("backend")
    (stack_dir / ".terraform.lock.hcl").write_text("lock")
    assert synth_hash([stack]) == first
    (stack_dir / "assets" / "code.zip").write_bytes(b"zip2")
    assert synth_hash([stack]) != first


# Recorded documents: real plans of the `local` workspace in the emulator.

def prior_api_key(plan: dict[str, Any]) -> str:
    resources = plan["prior_state"]["values"]["root_module"]["resources"]
    (key,) = [r["values"]["value"] for r in resources if r["type"] == "aws_api_gateway_api_key"]
    return key


def test_recorded_no_op_plans_have_no_changes_and_no_drift():
    for stack in ("local-security", "local-data"):
        review = recorded("noop", stack)
        assert not review.has_changes and not review.changes and not review.drift
        assert review.deployed and review.counts["unchanged"] > 0
    assert workspace(recorded("noop", "local-security"), recorded("noop", "local-data")).exit_code == 0


def test_recorded_memory_change_is_the_digest_function_and_its_alias():
    review = recorded("update", "local-app")
    assert review.counts["change"] == 2 and review.counts["add"] == review.counts["destroy"] == 0
    assert {c.construct_path for c in review.changes} == {"local-app/app/digest/function", "local-app/app/digest/alias"}
    function = next(c for c in review.changes if c.type == "aws_lambda_function")
    attributes = {a.path: a for a in function.attributes}
    assert (attributes["memory_size"].before, attributes["memory_size"].after) == ("512", "1024")
    assert attributes["version"].after == "(known after apply)"
    assert workspace(review).exit_code == 2
    plan = load("update.local-app.json.gz")
    assert prior_api_key(plan) in json.dumps(plan)  # the document holds the key...
    assert prior_api_key(plan) not in serialized(workspace(review))  # ...the review does not


def test_recorded_table_key_change_replaces_the_table_forced_by_its_range_key():
    review = recorded("replace", "local-data")
    (table,) = review.changes
    assert (table.kind, table.construct_path) == ("replace", "local-data/data/table")
    assert table.replace_paths == ("range_key",)
    assert table.stateful and not table.allowed
    assert workspace(review).exit_code == 3
    assert any(o.endswith("stream_arn") for o in review.changed_outputs)  # so local-app waits
    allowed = recorded("replace", "local-data", allowed=(table.address,))
    assert workspace(allowed).exit_code == 2


def test_recorded_removal_of_a_table_is_a_blocked_destroy():
    review = recorded("delete", "local-data")
    (table,) = review.changes
    assert (table.kind, table.type, table.construct_path) == ("destroy", "aws_dynamodb_table", None)
    assert workspace(review).exit_code == 3
    assert "removed from the code" in render(workspace(review)).split("| Stack |")[0]


def test_recorded_new_api_key_value_and_a_new_queue():
    review = recorded("create-sensitive", "local-app")
    kinds = {c.address: c.kind for c in review.changes}
    assert kinds["aws_sqs_queue.plan_review_extra"] == "add"
    key = next(c for c in review.changes if c.type == "aws_api_gateway_api_key")
    value = next(a for a in key.attributes if a.path == "value")
    assert (key.kind, value.before, value.after, value.forces_replacement) == (
        "replace", "(sensitive)", "(sensitive)", True)
    # The provider does not mark the usage plan key's copy of the key sensitive: still hidden.
    usage = next(c for c in review.changes if c.type == "aws_api_gateway_usage_plan_key")
    assert next(a for a in usage.attributes if a.path == "value").before == "(sensitive)"
    plan = load("create-sensitive.local-app.json.gz")
    text = serialized(workspace(review))
    assert prior_api_key(plan) not in text
    assert "plan-review-recorded-sensitive-value-0001" in json.dumps(plan)
    assert "plan-review-recorded-sensitive-value-0001" not in text


def test_recorded_drift_a_memory_size_changed_by_hand_that_the_plan_sets_back():
    review = recorded("drift", "local-app")
    (drift,) = review.drift  # of the 81 drift entries refresh found, the rest is normalization
    assert (drift.kind, drift.construct_path) == ("changed", "local-app/app/digest/function")
    assert [(a.path, a.before, a.after) for a in drift.attributes] == [("memory_size", "512", "640")]
    function = next(c for c in review.changes if c.type == "aws_lambda_function")
    memory = next(a for a in function.attributes if a.path == "memory_size")
    assert (memory.before, memory.after) == ("640", "512")
    assert len(load("drift.local-app.json.gz")["resource_drift"]) == 81
    assert "changed outside Terraform: `memory_size` `512` → `640`" in render(workspace(review))
