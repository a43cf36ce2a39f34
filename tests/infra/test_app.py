"""App layer: artifacts, functions, workflow, schedule and stream mapping in every workspace."""

from __future__ import annotations

import json

import pytest

from modules.catalog import COMMON_ENVIRONMENT, FUNCTIONS
from modules.config import WORKSPACES
from modules.workflow import LAMBDA_SERVICE_ERRORS, TRANSIENT_ERROR

RETENTION = {"local": 7, "dev": 7, "staging": 30, "prod": 90}
TASK_SIZING = {"local": (512, 30), "dev": (512, 30), "staging": (1024, 60), "prod": (2048, 90)}


def ref(synth, stack, rtype, path, attribute):
    """The Terraform reference to an attribute of the resource at `path`."""
    unique_id = synth.resource(stack, rtype, path)["//"]["metadata"]["uniqueId"]
    return f"${{{rtype}.{unique_id}.{attribute}}}"


def fn(synth, workspace, name, rtype="aws_lambda_function", part="function"):
    return synth.resource(f"{workspace}-app", rtype, f"{name.replace('-', '_')}/{part}")


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_every_function_is_complete(synth, workspace):
    stack = f"{workspace}-app"
    assert synth.count(stack, "aws_lambda_function") == len(FUNCTIONS)
    for spec in FUNCTIONS:
        function = fn(synth, workspace, spec.name)
        assert function["function_name"] == f"serverless-app-{workspace}-{spec.name}"
        assert function["handler"] == spec.handler
        assert (function["runtime"], function["architectures"]) == ("python3.13", ["arm64"])
        assert function["tracing_config"]["mode"] == "Active"
        assert function["logging_config"]["log_format"] == "JSON"
        assert function["publish"] is True
        assert "terraform_remote_state" in function["kms_key_arn"]
        # Its own DLQ, from the data layer (a cross-stack reference).
        dlq = function["dead_letter_config"]["target_arn"]
        assert "terraform_remote_state" in dlq and f"dlq_{spec.name.replace('-', '_')}" in dlq
        object_path = f"{spec.name.replace('-', '_')}_code_object"
        code_object = synth.resource(stack, "aws_s3_object", object_path)
        assert code_object["key"].startswith(f"artifacts/{spec.name}/")
        assert function["s3_key"] == ref(synth, stack, "aws_s3_object", object_path, "key")
        assert function["s3_object_version"] == ref(synth, stack, "aws_s3_object", object_path, "version_id")
        assert len(function["source_code_hash"]) == 44  # base64 sha256
        assert function["reserved_concurrent_executions"] >= 1
        env = function["environment"]["variables"]
        assert set(env) == set(COMMON_ENVIRONMENT) | set(spec.environment)
        assert env["POWERTOOLS_LOG_LEVEL"] == ("DEBUG" if workspace in ("local", "dev") else "INFO")
        log_group = fn(synth, workspace, spec.name, "aws_cloudwatch_log_group", "log_group")
        assert log_group["name"] == f"/aws/lambda/serverless-app-{workspace}-{spec.name}"
        assert log_group["retention_in_days"] == RETENTION[workspace]
        assert log_group["kms_key_id"]
        assert any("log_group" in dep for dep in function["depends_on"])  # created before the function
        alias = fn(synth, workspace, spec.name, "aws_lambda_alias", "alias")
        assert alias["name"] == "live" and alias["function_version"].endswith(".version}")
        if spec.kind == "task":
            assert (function["memory_size"], function["timeout"]) == TASK_SIZING[workspace]


@pytest.mark.parametrize(("workspace", "in_vpc"), [("local", False), ("dev", True), ("staging", True),
                                                   ("prod", True)])
def test_functions_in_vpc_when_network_on(synth, workspace, in_vpc):
    for spec in FUNCTIONS:
        function = fn(synth, workspace, spec.name)
        assert ("vpc_config" in function) is in_vpc
        if in_vpc:
            assert len(function["vpc_config"]["subnet_ids"]) >= 2
            assert len(function["vpc_config"]["security_group_ids"]) == 1


def test_artifacts_are_content_addressed_in_the_code_bucket(synth):
    objects = synth.resources("dev-app", "aws_s3_object")
    keys = sorted(o["key"] for o in objects.values())
    assert len(keys) == len(FUNCTIONS) + 1
    for obj in objects.values():
        assert "code_bucket" in obj["bucket"]
        assert obj["source"].startswith("assets/")
        assert obj["key"].split("/")[-1] == f"{obj['source_hash']}.zip"
        assert obj["server_side_encryption"] == "aws:kms"
    layer = synth.resource("dev-app", "aws_lambda_layer_version", "dependencies_layer")
    layer_object = synth.resource("dev-app", "aws_s3_object", "layer_object")
    assert layer_object["key"].startswith("layers/")
    assert layer["s3_key"] == ref(synth, "dev-app", "aws_s3_object", "layer_object", "key")
    assert layer["compatible_architectures"] == ["arm64"] and layer["compatible_runtimes"] == ["python3.13"]
    assert all(len(fn(synth, "dev", s.name)["layers"]) == 1 for s in FUNCTIONS)


def test_digest_is_async_with_bounded_retries_and_failure_destination(synth):
    config = fn(synth, "dev", "digest", "aws_lambda_function_event_invoke_config", "async_config")
    assert config["maximum_retry_attempts"] == 2 and config["maximum_event_age_in_seconds"] == 3600
    assert config["qualifier"].endswith(".name}")
    assert "dlq_digest" in config["destination_config"]["on_failure"]["destination"]


def state_machine(synth, workspace="dev"):
    machine = synth.resource(f"{workspace}-app", "aws_sfn_state_machine", "workflow/state_machine")
    return machine, json.loads(machine["definition"])


def test_workflow_shape(synth):
    machine, definition = state_machine(synth)
    assert machine["type"] == "STANDARD"
    assert machine["logging_configuration"]["level"] == "ALL"
    assert machine["logging_configuration"]["include_execution_data"] is True
    assert machine["tracing_configuration"]["enabled"] is True
    states = definition["States"]
    assert definition["StartAt"] == "ValidateInput"
    assert states["ValidateInput"]["Next"] == "CheckValidation"
    assert states["CheckValidation"]["Type"] == "Choice"
    assert states["CheckValidation"]["Choices"][0]["Next"] == "ProcessData"
    assert states["ProcessData"]["Next"] == "SendNotification"
    assert states["SendNotification"]["Next"] == "Succeeded"
    assert states["Succeeded"]["Type"] == "Succeed"
    assert states["MarkFailed"]["Next"] == "Failed" and states["Failed"]["Type"] == "Fail"
    for task in ("ValidateInput", "ProcessData", "SendNotification"):
        (catch,) = states[task]["Catch"]
        assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MarkFailed"}
        retries = [r for r in states[task]["Retry"] if r.get("MaxAttempts", 0) > 0]
        assert set(LAMBDA_SERVICE_ERRORS) <= set(retries[0]["ErrorEquals"])
        assert retries[0]["JitterStrategy"] == "FULL"
    assert TRANSIENT_ERROR in states["ProcessData"]["Retry"][1]["ErrorEquals"]
    assert [r["IntervalSeconds"] for r in states["SendNotification"]["Retry"]] == [5]
    # Each Task calls a function's live alias.
    tasks = {"ValidateInput": "validate", "ProcessData": "process", "SendNotification": "notify",
             "MarkFailed": "mark_failed"}
    for state, function in tasks.items():
        assert states[state]["Resource"].startswith(f"${{aws_lambda_alias.app_{function}_alias_")


def test_workflow_role_invokes_only_the_task_aliases(synth):
    role_policy = json.loads(synth.resource("dev-app", "aws_iam_role_policy", "workflow/policy")["policy"])
    invoke = next(s for s in role_policy["Statement"] if s["Sid"] == "InvokeTaskAliases")
    assert invoke["Action"] == ["lambda:InvokeFunction"]
    assert len(invoke["Resource"]) == 4
    assert all("alias" in arn for arn in invoke["Resource"])
    assert not any("api" in arn or "digest" in arn for arn in invoke["Resource"])


def test_api_knows_the_state_machine_by_static_arn(synth):
    env = fn(synth, "dev", "api")["environment"]["variables"]
    assert env["STATE_MACHINE_ARN"].startswith("arn:${data.aws_partition.")
    assert env["STATE_MACHINE_ARN"].endswith(":stateMachine:serverless-app-dev-jobs")
    machine, _ = state_machine(synth)
    assert machine["name"] == "serverless-app-dev-jobs"


def test_schedule_targets_digest_alias(synth):
    rule = synth.resource("dev-app", "aws_cloudwatch_event_rule", "digest_schedule")
    assert rule["schedule_expression"] == "rate(1 day)"
    target = synth.resource("dev-app", "aws_cloudwatch_event_target", "digest_target")
    assert target["arn"] == ref(synth, "dev-app", "aws_lambda_alias", "digest/alias", "arn")
    assert target["retry_policy"] == {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 3}
    assert "dlq_schedule" in target["dead_letter_config"]["arn"]
    permission = synth.resource("dev-app", "aws_lambda_permission", "digest_invoke_permission")
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["source_arn"] == ref(synth, "dev-app", "aws_cloudwatch_event_rule", "digest_schedule", "arn")
    assert permission["qualifier"] == ref(synth, "dev-app", "aws_lambda_alias", "digest/alias", "name")
    queue_policy = json.loads(synth.resource("dev-data", "aws_sqs_queue_policy", "dlq_schedule_policy")["policy"])
    allow = next(s for s in queue_policy["Statement"] if s["Effect"] == "Allow")
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(":rule/serverless-app-dev-digest-schedule")


def test_stream_mapping(synth):
    mapping = synth.resource("dev-app", "aws_lambda_event_source_mapping", "stream_mapping")
    assert "table_stream_arn" in mapping["event_source_arn"] or "stream_arn" in mapping["event_source_arn"]
    assert mapping["function_name"] == ref(synth, "dev-app", "aws_lambda_alias", "stream_consumer/alias", "arn")
    assert mapping["starting_position"] == "LATEST"
    assert mapping["bisect_batch_on_function_error"] is True
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["maximum_retry_attempts"] == 3 and mapping["maximum_record_age_in_seconds"] == 3600
    assert (mapping["batch_size"], mapping["maximum_batching_window_in_seconds"]) == (100, 5)
    assert "dlq_stream_consumer" in mapping["destination_config"]["on_failure"]["destination_arn"]
