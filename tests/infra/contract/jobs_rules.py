"""Contract rules for jobs and stream events: every job reaches COMPLETED or FAILED, and no
stream record is lost. Each rule is a pure function over synthesized JSON returning problems
(strings naming the resource, the setting and what it breaks); AWS behaviour each relies on is
referenced next to it. The worst-case arithmetic is written here again on purpose (not
imported from modules/workflow.py), so a mistake there cannot hide itself.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

# ASL Retrier defaults: IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0; JitterStrategy FULL
# only shortens a wait (a random delay between 0 and the computed backoff); MaxDelaySeconds caps
# it (AWS Step Functions guide, "Handling errors in Step Functions workflows"; CDK JitterType).
RETRY_DEFAULTS = {"IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0}
# DynamoDB Streams keeps a record 24 hours (Amazon DynamoDB guide, "Change data capture for
# DynamoDB Streams": "data in a DynamoDB stream is retained for 24 hours").
STREAM_RETENTION_SECONDS = 24 * 3600
# Lambda's S3 on-failure destination gets the invocation record with the records; SQS and SNS
# destinations get metadata only (AWS Lambda guide, "Retain discarded records for a DynamoDB
# event source in Lambda"; Lambda API reference, OnFailure).
EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"
UNFINISHED_STATUSES = {"FAILED", "TIMED_OUT", "ABORTED"}
DIRECT_UPDATE = "arn:<partition>:states:::dynamodb:updateItem"
# The partition is the stack's aws_partition lookup (portability_rules), or literal in a
# document built outside Terraform.
_DIRECT_UPDATE = re.compile(
    r"^arn:(aws[a-z-]*|\$\{data\.aws_partition\.[^}]+\.partition\}):states:::dynamodb:updateItem$")


def is_direct_update(resource: str) -> bool:
    return bool(_DIRECT_UPDATE.match(resource))


# --- the workflow ------------------------------------------------------------------------

def _catch_targets(state: Mapping[str, Any]) -> list[str]:
    return [c["Next"] for c in state.get("Catch", []) if "States.ALL" in c.get("ErrorEquals", [])]


def _marks_failed(state: Mapping[str, Any], mark_failed_resources: set[str]) -> bool:
    """A state that sets the job FAILED: the mark-failed function, or a direct conditional
    UpdateItem writing status FAILED."""
    if state.get("Type") != "Task":
        return False
    if state["Resource"] in mark_failed_resources:
        return True
    values = state.get("Parameters", {}).get("ExpressionAttributeValues", {})
    return is_direct_update(state["Resource"]) and {"S": "FAILED"} in values.values()


def task_terminal_path_problems(definition: Mapping[str, Any], mark_failed_resources: set[str]) -> list[str]:
    """Every Task state has a last-resort path: an error its Retry cannot fix is caught
    (States.ALL; an uncaught error ends the execution and leaves the job as it was), the catch
    leads to a state that marks the job FAILED, and the last of those marking states does not
    need Lambda (a reserved-concurrency throttle must not strand the job)."""
    states = definition["States"]
    problems = []
    for name, state in states.items():
        if state["Type"] != "Task":
            continue
        targets = _catch_targets(state)
        if not targets:
            problems.append(f"workflow state {name}: no Catch on States.ALL; an error it does not retry "
                            "ends the execution with the job left PENDING/PROCESSING")
            continue
        if _marks_failed(state, mark_failed_resources):
            marking_next = [t for t in targets if _marks_failed(states[t], mark_failed_resources)]
            if not marking_next and not is_direct_update(state["Resource"]):
                problems.append(f"workflow state {name}: the last state that marks the job FAILED is a Lambda "
                                "task; when it is throttled or fails, nothing marks the job (Catch to a direct "
                                f"{DIRECT_UPDATE} task)")
        elif not any(_marks_failed(states[t], mark_failed_resources) for t in targets):
            problems.append(f"workflow state {name}: Catch leads to {targets}, none of which marks the job FAILED")
    return problems


def _retrier_seconds(retrier: Mapping[str, Any]) -> tuple[int, float]:
    options = {**RETRY_DEFAULTS, **retrier}
    attempts = int(options["MaxAttempts"])
    cap = float(options.get("MaxDelaySeconds", math.inf))
    waits = sum(min(options["IntervalSeconds"] * options["BackoffRate"] ** i, cap) for i in range(attempts))
    return attempts, waits


def task_worst_case(state: Mapping[str, Any]) -> float | None:
    """Every attempt the retriers allow (each counts its own) at TimeoutSeconds, plus waits;
    None without TimeoutSeconds (ASL sets no task timeout by default: AWS Step Functions guide,
    "Using timeouts to avoid stuck Step Functions workflow executions")."""
    if "TimeoutSeconds" not in state:
        return None
    counted = [_retrier_seconds(r) for r in state.get("Retry", [])]
    return (1 + sum(a for a, _ in counted)) * state["TimeoutSeconds"] + sum(w for _, w in counted)


def _successors(state: Mapping[str, Any]) -> list[str]:
    found = [state[key] for key in ("Next", "Default") if key in state]
    return found + [c["Next"] for c in state.get("Choices", [])] + [c["Next"] for c in state.get("Catch", [])]


def workflow_timeout_problems(definition: Mapping[str, Any]) -> list[str]:
    """Every Task has TimeoutSeconds, and the state machine's own TimeoutSeconds exceeds the
    longest path of task worst cases (without it an execution can run for a year: AWS Step
    Functions guide, "Using timeouts to avoid stuck Step Functions workflow executions")."""
    states = definition["States"]
    problems = [f"workflow state {name}: no TimeoutSeconds; a task that never answers keeps the job unfinished"
                for name, state in states.items() if state["Type"] == "Task" and "TimeoutSeconds" not in state]
    if problems:
        return problems
    memo: dict[str, float] = {}

    def longest(name: str) -> float:
        if name not in memo:
            own = task_worst_case(states[name]) or 0.0
            memo[name] = own + max((longest(n) for n in _successors(states[name])), default=0.0)
        return memo[name]

    worst = longest(definition["StartAt"])
    timeout = definition.get("TimeoutSeconds")
    if timeout is None:
        return [f"workflow: no TimeoutSeconds; the tasks' worst case is {worst:.0f} s"]
    if timeout <= worst:
        return [f"workflow: TimeoutSeconds {timeout} does not exceed the tasks' worst case of {worst:.0f} s "
                "(attempts x task timeout + retry waits on the longest path)"]
    return []


def stuck_job_detection_problems(app: Mapping[str, Any], observability: Mapping[str, Any],
                                 state_machine_arn: str) -> list[str]:
    """An execution that ends FAILED, TIMED_OUT or ABORTED reaches something that marks its job
    FAILED: an EventBridge rule on "Step Functions Execution Status Change" for those statuses of
    this state machine, with a target that retries and has a dead-letter queue (the events are
    best-effort: Amazon EventBridge events reference, "AWS Step Functions events"); and the
    ExecutionsTimedOut metric is alarmed."""
    resources = app.get("resource", {})
    rules = resources.get("aws_cloudwatch_event_rule", {})
    targets = resources.get("aws_cloudwatch_event_target", {}).values()
    problems = []
    covered: set[str] = set()
    for key, rule in rules.items():
        pattern = json.loads(rule.get("event_pattern") or "{}")
        if EXECUTION_STATUS_CHANGE not in pattern.get("detail-type", []):
            continue
        if state_machine_arn not in pattern.get("detail", {}).get("stateMachineArn", []):
            continue
        ref = f"${{aws_cloudwatch_event_rule.{key}.name}}"
        target = next((t for t in targets if t["rule"] == ref), None)
        if target is None or not target.get("retry_policy") or not target.get("dead_letter_config"):
            problems.append(f"event rule {rule['name']}: no target with retry_policy and dead_letter_config")
            continue
        covered |= set(pattern["detail"].get("status", []))
    if UNFINISHED_STATUSES - covered:
        problems.append(f"workflow: no event rule marks jobs of executions ending "
                        f"{sorted(UNFINISHED_STATUSES - covered)} FAILED")
    alarms = observability.get("resource", {}).get("aws_cloudwatch_metric_alarm", {}).values()
    if not any(a.get("metric_name") == "ExecutionsTimedOut" and a.get("namespace") == "AWS/States"
               and a.get("dimensions", {}).get("StateMachineArn") for a in alarms):
        problems.append("workflow: no ExecutionsTimedOut alarm")
    return problems


# --- the stream --------------------------------------------------------------------------

def _is_s3_bucket(destination: str) -> bool:
    return destination.startswith("arn:aws:s3:::") or "aws_s3_bucket" in destination


def stream_keeps_failed_records_problems(app: Mapping[str, Any]) -> list[str]:
    """Every DynamoDB stream mapping keeps what it gives up on, in full: either its on-failure
    destination is an S3 bucket (Lambda writes the records there; SQS/SNS get metadata only),
    or its retries and record age are unbounded (-1: bounded only by the 24 h retention)."""
    problems = []
    for key, mapping in app.get("resource", {}).get("aws_lambda_event_source_mapping", {}).items():
        if "stream" not in str(mapping.get("event_source_arn", "")):
            continue
        destination = ((mapping.get("destination_config") or {}).get("on_failure") or {}).get("destination_arn")
        if destination and _is_s3_bucket(destination):
            continue
        unbounded = (mapping.get("maximum_retry_attempts", -1) == -1
                     and mapping.get("maximum_record_age_in_seconds", -1) == -1)
        if not unbounded:
            problems.append(
                f"event source mapping {key}: discards a batch after maximum_retry_attempts "
                f"{mapping.get('maximum_retry_attempts')} / maximum_record_age_in_seconds "
                f"{mapping.get('maximum_record_age_in_seconds')} to {destination or 'nowhere'}, which keeps "
                "metadata only; the records are lost (use an S3 on-failure destination)")
    return problems


def stream_age_alarm_problems(app: Mapping[str, Any], observability: Mapping[str, Any],
                              function_names: Mapping[str, str]) -> list[str]:
    """Every stream consumer has an IteratorAge alarm (Lambda metric, milliseconds: AWS Lambda
    guide, "Types of metrics for Lambda functions") that fires before its records age out: below
    the stream's 24 h retention and below the mapping's maximum_record_age_in_seconds."""
    alarms = list(observability.get("resource", {}).get("aws_cloudwatch_metric_alarm", {}).values())
    problems = []
    for key, mapping in app.get("resource", {}).get("aws_lambda_event_source_mapping", {}).items():
        if "stream" not in str(mapping.get("event_source_arn", "")):
            continue
        function = function_names[mapping["function_name"]]
        age = mapping.get("maximum_record_age_in_seconds", -1)
        limit_ms = 1000 * min(STREAM_RETENTION_SECONDS, age if age and age > 0 else STREAM_RETENTION_SECONDS)
        found = [a for a in alarms if a.get("metric_name") == "IteratorAge"
                 and a.get("dimensions", {}).get("FunctionName") == function]
        if not found:
            problems.append(f"event source mapping {key}: no IteratorAge alarm on {function}")
        elif all(a["threshold"] >= limit_ms for a in found):
            problems.append(f"event source mapping {key}: IteratorAge alarm threshold "
                            f"{min(a['threshold'] for a in found):.0f} ms is not below {limit_ms} ms "
                            "(records age out before anyone is told)")
    return problems


def stream_delivery_alarm_problems(app: Mapping[str, Any], observability: Mapping[str, Any],
                                   function_names: Mapping[str, str]) -> list[str]:
    """A batch the mapping cannot write to its on-failure destination is dropped; Lambda counts
    it as DestinationDeliveryFailures of the function (AWS Lambda guide, "Types of metrics for
    Lambda functions"; event source mapping metrics), so that metric must alarm on any value."""
    alarms = list(observability.get("resource", {}).get("aws_cloudwatch_metric_alarm", {}).values())
    problems = []
    for key, mapping in app.get("resource", {}).get("aws_lambda_event_source_mapping", {}).items():
        if not (mapping.get("destination_config") or {}).get("on_failure"):
            continue
        function = function_names[mapping["function_name"]]
        if not any(a.get("metric_name") == "DestinationDeliveryFailures" and a["threshold"] <= 1
                   and a.get("dimensions", {}).get("FunctionName") == function for a in alarms):
            problems.append(f"event source mapping {key}: no DestinationDeliveryFailures alarm on {function} "
                            "(a batch its destination refused is dropped unseen)")
    return problems


def all_problems(groups: Iterable[list[str]]) -> list[str]:
    return [problem for group in groups for problem in group]
