"""Contract rules for jobs and stream events (tests/infra/contract/jobs_rules.py): each rule holds
on the real synth of every workspace and both API kinds, and reports the specific problem on a
deliberately broken copy (the broken copies are what main had before issue 11)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from modules.catalog import FUNCTIONS, StreamTrigger, triggered_by
from modules.config import WORKSPACES
from tests.infra.contract import jobs_rules as rules
from tests.infra.synthesized import Synthesized, ref, remote_ref

STREAM_CONSUMERS = [spec.name for spec in triggered_by(StreamTrigger, FUNCTIONS)]


def machine(synth: Synthesized, workspace: str) -> dict[str, Any]:
    return synth.resource(f"{workspace}-app", "aws_sfn_state_machine", "workflow/state_machine")


def definition(synth: Synthesized, workspace: str) -> dict[str, Any]:
    return dict(json.loads(machine(synth, workspace)["definition"]))


def mark_failed_resources(synth: Synthesized, workspace: str) -> set[str]:
    return {ref(synth, f"{workspace}-app", "aws_lambda_alias", "mark_failed/alias", "arn")}


def state_machine_arn(synth: Synthesized, workspace: str) -> str:
    """The workflow's ARN as the product knows it (the API function's STATE_MACHINE_ARN)."""
    api = synth.resource(f"{workspace}-app", "aws_lambda_function", "api/function")
    return str(api["environment"]["variables"]["STATE_MACHINE_ARN"])


def consumer_names(synth: Synthesized, workspace: str) -> dict[str, str]:
    return {ref(synth, f"{workspace}-app", "aws_lambda_alias", f"{name.replace('-', '_')}/alias", "arn"):
            f"serverless-app-{workspace}-{name}" for name in STREAM_CONSUMERS}


def problems(synth: Synthesized, workspace: str) -> list[str]:
    app, observability = synth.stack(f"{workspace}-app"), synth.stack(f"{workspace}-observability")
    document = definition(synth, workspace)
    return rules.all_problems([
        rules.task_terminal_path_problems(document, mark_failed_resources(synth, workspace)),
        rules.workflow_timeout_problems(document),
        rules.stuck_job_detection_problems(app, observability, state_machine_arn(synth, workspace)),
        rules.stream_keeps_failed_records_problems(app),
        rules.stream_age_alarm_problems(app, observability, consumer_names(synth, workspace)),
        rules.stream_delivery_alarm_problems(app, observability, consumer_names(synth, workspace)),
    ])


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_every_rule_holds_on_the_real_synth(synth, synth_http, workspace):
    assert problems(synth, workspace) == []
    assert problems(synth_http, workspace) == []


# --- each rule fails on a broken copy --------------------------------------------------------

def test_terminal_path_rule_reports_mark_failed_without_catch(synth):
    document = definition(synth, "prod")
    del document["States"]["MarkFailed"]["Catch"]  # main before issue 11
    assert rules.task_terminal_path_problems(document, mark_failed_resources(synth, "prod")) == [
        "workflow state MarkFailed: no Catch on States.ALL; an error it does not retry ends the execution "
        "with the job left PENDING/PROCESSING"]


def test_terminal_path_rule_reports_a_lambda_last_resort_and_a_catch_that_marks_nothing(synth):
    document = definition(synth, "prod")
    alias = next(iter(mark_failed_resources(synth, "prod")))
    document["States"]["RecordFailure"] = {**document["States"]["MarkFailed"], "Resource": alias,
                                           "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]}
    document["States"]["ProcessData"]["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]
    found = rules.task_terminal_path_problems(document, {alias})
    assert found == [
        "workflow state ProcessData: Catch leads to ['Failed'], none of which marks the job FAILED",
        "workflow state RecordFailure: the last state that marks the job FAILED is a Lambda task; when it is "
        "throttled or fails, nothing marks the job (Catch to a direct "
        "arn:<partition>:states:::dynamodb:updateItem task)"]


def test_timeout_rule_reports_a_missing_or_short_state_machine_timeout(synth):
    document = definition(synth, "prod")
    del document["TimeoutSeconds"]
    [missing] = rules.workflow_timeout_problems(document)
    assert missing.startswith("workflow: no TimeoutSeconds; the tasks' worst case is ")
    document["TimeoutSeconds"] = 600
    [short] = rules.workflow_timeout_problems(document)
    assert short.startswith("workflow: TimeoutSeconds 600 does not exceed the tasks' worst case of ")


def test_timeout_rule_reports_a_task_without_timeout(synth):
    document = definition(synth, "dev")
    del document["States"]["SendNotification"]["TimeoutSeconds"]
    assert rules.workflow_timeout_problems(document) == [
        "workflow state SendNotification: no TimeoutSeconds; a task that never answers keeps the job unfinished"]


def test_timeout_rule_arithmetic():
    """Two retriers count their own attempts; FULL jitter only shortens; MaxDelaySeconds caps."""
    state = {"Type": "Task", "TimeoutSeconds": 10,
             "Retry": [{"ErrorEquals": ["A"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0},
                       {"ErrorEquals": ["B"], "IntervalSeconds": 5, "MaxAttempts": 2, "MaxDelaySeconds": 6}]}
    # attempts 1 + 3 + 2 = 6 x 10 s; waits 2 + 4 + 8 and 5 + min(10, 6)
    assert rules.task_worst_case(state) == 60 + 14 + 11
    document = {"StartAt": "T", "TimeoutSeconds": 85, "States": {"T": {**state, "End": True}}}
    assert rules.workflow_timeout_problems(document) == [
        "workflow: TimeoutSeconds 85 does not exceed the tasks' worst case of 85 s "
        "(attempts x task timeout + retry waits on the longest path)"]


def _stacks(synth: Synthesized, workspace: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return (copy.deepcopy(synth.stack(f"{workspace}-app")), copy.deepcopy(synth.stack(f"{workspace}-observability")))


def test_stuck_job_rule_reports_no_execution_end_rule(synth):
    app, observability = _stacks(synth, "staging")
    arn = state_machine_arn(synth, "staging")
    rules_by_id = app["resource"]["aws_cloudwatch_event_rule"]
    for key in [k for k, r in rules_by_id.items() if "event_pattern" in r]:
        del rules_by_id[key]  # main before issue 11: nothing reacts to a timed-out execution
    assert rules.stuck_job_detection_problems(app, observability, arn) == [
        "workflow: no event rule marks jobs of executions ending ['ABORTED', 'FAILED', 'TIMED_OUT'] FAILED"]


def test_stuck_job_rule_reports_a_target_without_dead_letter_queue_and_a_missing_alarm(synth):
    app, observability = _stacks(synth, "prod")
    for target in app["resource"]["aws_cloudwatch_event_target"].values():
        target.pop("dead_letter_config")
    alarms = observability["resource"]["aws_cloudwatch_metric_alarm"]
    for key in [k for k, a in alarms.items() if a.get("metric_name") == "ExecutionsTimedOut"]:
        del alarms[key]
    assert rules.stuck_job_detection_problems(app, observability, state_machine_arn(synth, "prod")) == [
        "event rule serverless-app-prod-job-execution-ended: no target with retry_policy and dead_letter_config",
        "workflow: no event rule marks jobs of executions ending ['ABORTED', 'FAILED', 'TIMED_OUT'] FAILED",
        "workflow: no ExecutionsTimedOut alarm"]


def test_stream_rule_reports_a_metadata_only_destination(synth):
    app, _ = _stacks(synth, "prod")
    [mapping] = app["resource"]["aws_lambda_event_source_mapping"].values()
    queue = remote_ref(synth, "prod", "data", "aws_sqs_queue", "data/dlq_stream_consumer", "arn")
    mapping["destination_config"]["on_failure"]["destination_arn"] = queue  # main before issue 11
    [problem] = rules.stream_keeps_failed_records_problems(app)
    assert problem.endswith(f"discards a batch after maximum_retry_attempts 3 / maximum_record_age_in_seconds "
                            f"3600 to {queue}, which keeps metadata only; the records are lost "
                            "(use an S3 on-failure destination)")
    mapping["maximum_retry_attempts"] = mapping["maximum_record_age_in_seconds"] = -1  # retention-bounded
    assert rules.stream_keeps_failed_records_problems(app) == []


def test_age_alarm_rule_reports_a_threshold_past_the_record_age_and_a_missing_alarm(synth):
    app, observability = _stacks(synth, "dev")
    alarms = observability["resource"]["aws_cloudwatch_metric_alarm"]
    [age] = [a for a in alarms.values() if a.get("metric_name") == "IteratorAge"]
    age["threshold"] = 3_600_000
    [late] = rules.stream_age_alarm_problems(app, observability, consumer_names(synth, "dev"))
    assert late.endswith("IteratorAge alarm threshold 3600000 ms is not below 3600000 ms "
                         "(records age out before anyone is told)")
    age["metric_name"] = "Errors"
    [missing] = rules.stream_age_alarm_problems(app, observability, consumer_names(synth, "dev"))
    assert missing.endswith("no IteratorAge alarm on serverless-app-dev-stream-consumer")


def test_a_record_age_beyond_the_stream_retention_is_a_config_error():
    from modules.config import settings_for
    from modules.config_errors import ConfigError

    with pytest.raises(ConfigError) as raised:
        settings_for("prod", {}, {"app": {"stream_max_record_age_seconds": 172_800}})
    [problem] = raised.value.problems
    assert "stream_max_record_age_seconds" in problem and "172800" in problem and "86400" in problem


def test_delivery_alarm_rule_reports_a_missing_alarm(synth):
    app, observability = _stacks(synth, "prod")
    alarms = observability["resource"]["aws_cloudwatch_metric_alarm"]
    for key in [k for k, a in alarms.items() if a.get("metric_name") == "DestinationDeliveryFailures"]:
        del alarms[key]
    [problem] = rules.stream_delivery_alarm_problems(app, observability, consumer_names(synth, "prod"))
    assert problem.endswith("no DestinationDeliveryFailures alarm on serverless-app-prod-stream-consumer "
                            "(a batch its destination refused is dropped unseen)")
