"""Progress of a stack read from Terraform's -json events (real event shapes of Terraform 1.11)."""

from __future__ import annotations

import threading
import time

from localmode.progress import StackProgress, Ticker


def hook_event(kind: str, address: str, action: str = "create", **hook: object) -> dict[str, object]:
    resource_type = address.split(".")[0] if not address.startswith("data.") else address.split(".")[1]
    return {"type": kind, "hook": {"resource": {"addr": address, "resource_type": resource_type},
                                   "action": action, **hook}}


PLAN = {"type": "change_summary", "changes": {"add": 3, "change": 0, "import": 0, "remove": 0, "operation": "plan"}}
APPLIED = {"type": "change_summary", "changes": {"add": 3, "change": 0, "remove": 0, "operation": "apply"}}


def test_counts_created_resources_against_the_plan_and_ignores_data_sources() -> None:
    progress = StackProgress("local-data")
    assert progress.tick_line().startswith("local-data: planning")
    for event in [hook_event("apply_start", "data.aws_partition.p", "read"),
                  hook_event("apply_complete", "data.aws_partition.p", "read"), PLAN,
                  hook_event("apply_start", "aws_sqs_queue.dlq"), hook_event("apply_start", "aws_kms_key.k"),
                  hook_event("apply_complete", "aws_kms_key.k", id_value="k-1")]:
        progress.on_event(event)
    line = progress.tick_line()
    assert line.startswith("local-data: 1/3 resources, ")
    assert "waiting on aws_sqs_queue.dlq" in line
    progress.on_event(hook_event("apply_complete", "aws_sqs_queue.dlq"))
    progress.on_event(hook_event("apply_start", "aws_sqs_queue_policy.p"))
    progress.on_event(hook_event("apply_complete", "aws_sqs_queue_policy.p"))
    progress.on_event(APPLIED)
    assert progress.total == 3
    assert "waiting" not in progress.tick_line()
    assert progress.end_line().startswith("local-data: done in ") and progress.end_line().endswith(
        "3 resources created")


def test_a_failure_names_the_stack_the_resource_and_terraforms_message() -> None:
    progress = StackProgress("local-app")
    progress.on_event(PLAN)
    progress.on_event(hook_event("apply_start", "aws_lambda_function.api"))
    progress.on_event(hook_event("apply_errored", "aws_lambda_function.api"))
    progress.on_event({"type": "diagnostic", "diagnostic": {
        "severity": "error", "summary": "creating Lambda Function (serverless-app-local-api): operation error",
        "detail": "InvalidParameterValueException: The role defined for the function cannot be assumed",
        "address": "aws_lambda_function.api"}})
    progress.on_event({"type": "diagnostic", "diagnostic": {"severity": "warning", "summary": "deprecated"}})
    text = progress.failure_text("stderr tail")
    assert text.startswith("local-app: apply failed at aws_lambda_function.api after ")
    assert "creating Lambda Function (serverless-app-local-api)" in text
    assert "cannot be assumed" in text
    assert "deprecated" not in text and "stderr tail" not in text


def test_without_diagnostics_the_failure_carries_terraforms_stderr() -> None:
    progress = StackProgress("local-app")
    assert "Error: Backend initialization required" in progress.failure_text("Error: Backend initialization required")


def test_destroy_progress_says_destroyed() -> None:
    progress = StackProgress("local-app", "destroy")
    progress.on_event({"type": "change_summary", "changes": {"add": 0, "change": 0, "remove": 2, "operation": "plan"}})
    progress.on_event(hook_event("apply_start", "aws_sns_topic.t", "delete"))
    progress.on_event(hook_event("apply_complete", "aws_sns_topic.t", "delete"))
    assert progress.tick_line().startswith("local-app: 1/2 resources")
    assert progress.end_line().endswith("1 resources destroyed")


def test_an_apply_that_updates_and_deletes_says_so() -> None:
    progress = StackProgress("local-app")
    progress.on_event({"type": "change_summary", "changes": {"add": 1, "change": 1, "remove": 1, "operation": "plan"}})
    for address, action in [("aws_s3_object.new", "create"), ("aws_lambda_function.api", "update"),
                            ("aws_s3_object.old", "delete")]:
        progress.on_event(hook_event("apply_start", address, action))
        progress.on_event(hook_event("apply_complete", address, action))
    assert progress.end_line().endswith(", 3 resources: 1 created, 1 deleted, 1 updated")


def test_the_ticker_prints_every_running_stack_every_interval() -> None:
    lines: list[str] = []
    running, finished = StackProgress("local-app"), StackProgress("local-data")
    finished.finished = True
    got_two = threading.Event()

    def log(line: str) -> None:
        lines.append(line)
        if len(lines) >= 2:
            got_two.set()

    with Ticker(lambda: [running, finished], log, interval=0.05):
        assert got_two.wait(5)
    count = len(lines)
    time.sleep(0.2)
    assert len(lines) == count  # stopped with the context
    assert all(line.startswith("local-app: ") for line in lines)
