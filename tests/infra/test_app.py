"""App layer: artifacts, functions, workflow, schedule and stream mapping in every workspace."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import re

import pytest
from pydantic import ValidationError

import handlers.shared.exceptions as exceptions
import handlers.shared.settings as handler_settings
from modules.catalog import FUNCTIONS
from modules.config import WORKSPACES, AppSettings
from modules.workflow import LAMBDA_SERVICE_ERRORS, PERMANENT_ERRORS, TRANSIENT_ERROR
from tests.infra.conftest import SETTINGS
from tests.infra.handler_scan import ROOT, handler_grants, import_closure
from tests.infra.synthesized import fn, ref, remote_ref

RETENTION = {"local": 7, "dev": 7, "staging": 30, "prod": 90}
# (memory MB, timeout s, reserved concurrency): the reference figures, written out here.
# Reservations are opt-in (None): only prod's api function has one.
API_SIZING = {"local": (512, 29, None), "dev": (512, 29, None), "staging": (512, 29, None), "prod": (1024, 29, 200)}
TASK_SIZING = {"local": (512, 30, None), "dev": (512, 30, None), "staging": (1024, 60, None),
               "prod": (2048, 90, None)}
WORKFLOW_TASKS = {"ValidateInput": "validate", "ProcessData": "process", "SendNotification": "notify",
                  "MarkFailed": "mark-failed"}
# Retry on errors that can recur (IntervalSeconds, MaxAttempts, BackoffRate), per task
# (reference figures: validate 2 s x 3 backoff 2, process 2 s x 3 backoff 2, notify 5 s x 2).
TASK_RETRY = {"ValidateInput": (2, 3, 2.0), "ProcessData": (2, 3, 2.0), "SendNotification": (5, 2, 2.0),
              "MarkFailed": (2, 3, 2.0)}


def settings_model(handler: str) -> type[handler_settings.FunctionEnvironment]:
    """The settings model the handler's code loads (`load_settings(<Model>)`), found statically."""
    found = set()
    for module in import_closure(handler.rsplit(".", 1)[0]):
        path = ROOT / (module.replace(".", "/") + ".py")
        if path.is_file() and module != "handlers.shared.settings":
            found |= set(re.findall(r"load_settings\((\w+)\)", path.read_text()))
    (name,) = found
    return getattr(handler_settings, name)


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_every_function_is_complete(synth, workspace):
    stack = f"{workspace}-app"
    key = remote_ref(synth, workspace, "security", "aws_kms_key", "security/key", "arn")
    assert synth.count(stack, "aws_lambda_function") == len(FUNCTIONS)
    for spec in FUNCTIONS:
        function = fn(synth, workspace, spec.name)
        assert function["function_name"] == f"serverless-app-{workspace}-{spec.name}"
        assert function["handler"] == spec.handler
        assert (function["runtime"], function["architectures"]) == ("python3.13", ["arm64"])
        assert function["tracing_config"]["mode"] == "Active"
        assert function["logging_config"]["log_format"] == "JSON"
        assert function["publish"] is True
        assert function["kms_key_arn"] == key
        # Its own DLQ, from the data layer (a cross-stack reference).
        assert function["dead_letter_config"]["target_arn"] == remote_ref(
            synth, workspace, "data", "aws_sqs_queue", f"data/dlq_{spec.name.replace('-', '_')}", "arn")
        env = function["environment"]["variables"]
        # Exactly the variables of the settings model the handler validates at cold start.
        assert set(env) == set(handler_settings.environment_names(settings_model(spec.handler))), spec.name
        assert set(env) >= set(spec.environment)
        assert env["POWERTOOLS_LOG_LEVEL"] == ("DEBUG" if workspace in ("local", "dev") else "INFO")
        log_group = fn(synth, workspace, spec.name, "aws_cloudwatch_log_group", "log_group")
        assert log_group["name"] == f"/aws/lambda/serverless-app-{workspace}-{spec.name}"
        assert log_group["retention_in_days"] == RETENTION[workspace]
        assert log_group["kms_key_id"] == key  # the security layer's CMK
        assert function["logging_config"]["log_group"] == ref(
            synth, stack, "aws_cloudwatch_log_group", f"{spec.name.replace('-', '_')}/log_group", "name")
        assert any("log_group" in dep for dep in function["depends_on"])  # created before the function
        alias = fn(synth, workspace, spec.name, "aws_lambda_alias", "alias")
        assert alias["name"] == "live" and alias["function_version"].endswith(".version}")


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_function_sizes_follow_the_configuration(synth, workspace):
    app = SETTINGS[workspace].app
    for spec in FUNCTIONS:
        function = fn(synth, workspace, spec.name)
        sized = (function["memory_size"], function["timeout"], function.get("reserved_concurrent_executions"))
        configured = app.sizing(spec.name)
        assert sized == (configured.memory_mb, configured.timeout_seconds, configured.reserved_concurrency)
        assert sized == (API_SIZING if spec.kind == "api" else TASK_SIZING)[workspace], spec.name


def test_a_per_function_override_changes_only_that_function():
    base = SETTINGS["staging"].app
    overridden = AppSettings.model_validate(
        {**base.model_dump(), "function_overrides": {"digest": {"memory_mb": 3008, "reserved_concurrency": 2,
                                                                 "reservation_reason": "one digest at a time"}}})
    for spec in FUNCTIONS:
        expected = base.sizing(spec.name)
        if spec.name == "digest":
            expected = expected.model_copy(update={"memory_mb": 3008, "reserved_concurrency": 2,
                                                   "reservation_reason": "one digest at a time"})
        assert overridden.sizing(spec.name) == expected, spec.name
    assert overridden.sizing("digest").timeout_seconds == 60  # unset fields keep the workspace default
    api = AppSettings.model_validate({**base.model_dump(), "function_overrides": {"api": {"timeout_seconds": 10}}})
    assert api.sizing("api").timeout_seconds == 10 and api.sizing("process") == base.sizing("process")


def test_a_per_function_override_names_a_known_function():
    with pytest.raises(ValidationError) as error:
        AppSettings(function_overrides={"digets": {"memory_mb": 1024}})
    message = str(error.value)
    assert "function_overrides" in message and "'digets'" in message
    assert "allowed: " + ", ".join(spec.name for spec in FUNCTIONS) in message
    with pytest.raises(ValidationError, match="less than or equal to 10240"):
        AppSettings(function_overrides={"digest": {"memory_mb": 20000}})


@pytest.mark.parametrize(("workspace", "in_vpc"), [("local", False), ("dev", True), ("staging", True),
                                                   ("prod", True)])
def test_functions_in_vpc_when_network_on(synth, workspace, in_vpc):
    for spec in FUNCTIONS:
        function = fn(synth, workspace, spec.name)
        assert ("vpc_config" in function) is in_vpc
        if in_vpc:
            assert len(function["vpc_config"]["subnet_ids"]) >= 2
            assert len(function["vpc_config"]["security_group_ids"]) == 1


def _asset_sha256(synth, stack, code_object) -> bytes:
    return hashlib.sha256((synth.stacks_dir / stack / code_object["source"]).read_bytes()).digest()


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_artifacts_are_content_addressed_in_the_code_bucket(synth, workspace):
    stack = f"{workspace}-app"
    code_bucket = remote_ref(synth, workspace, "data", "aws_s3_bucket", "data/code_bucket/bucket", "bucket")
    objects = synth.resources(stack, "aws_s3_object")
    assert len(objects) == len(FUNCTIONS) + 1
    for obj in objects.values():
        assert obj["bucket"] == code_bucket
        assert obj["source"].startswith("assets/")
        assert obj["key"].split("/")[-1] == f"{obj['source_hash']}.zip"
        # The asset's folder too: the zip's hash is all a code change changes (delivery/code_resynth.py).
        assert obj["source"].split("/")[-2:] == [obj["source_hash"], f"{obj['source_hash']}.zip"]
        # The hash Terraform compares is the hash of the uploaded file itself.
        assert _asset_sha256(synth, stack, obj).hex() == obj["source_hash"]
    for spec in FUNCTIONS:
        path = f"{spec.name.replace('-', '_')}_code_object"
        code_object, function = synth.resource(stack, "aws_s3_object", path), fn(synth, workspace, spec.name)
        assert code_object["key"] == f"artifacts/{spec.name}/{code_object['source_hash']}.zip"
        assert function["s3_bucket"] == ref(synth, stack, "aws_s3_object", path, "bucket")
        assert function["s3_key"] == ref(synth, stack, "aws_s3_object", path, "key")
        assert function["s3_object_version"] == ref(synth, stack, "aws_s3_object", path, "version_id")
        assert function["source_code_hash"] == base64.b64encode(_asset_sha256(synth, stack, code_object)).decode()
        assert function["layers"] == [ref(synth, stack, "aws_lambda_layer_version", "dependencies_layer", "arn")]
    layer = synth.resource(stack, "aws_lambda_layer_version", "dependencies_layer")
    layer_object = synth.resource(stack, "aws_s3_object", "layer_object")
    assert layer_object["key"] == f"layers/{layer_object['source_hash']}.zip"
    assert layer["s3_bucket"] == ref(synth, stack, "aws_s3_object", "layer_object", "bucket")
    assert layer["s3_key"] == ref(synth, stack, "aws_s3_object", "layer_object", "key")
    assert layer["s3_object_version"] == ref(synth, stack, "aws_s3_object", "layer_object", "version_id")
    assert layer["source_code_hash"] == base64.b64encode(_asset_sha256(synth, stack, layer_object)).decode()
    assert layer["compatible_architectures"] == ["arm64"] and layer["compatible_runtimes"] == ["python3.13"]


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_digest_is_async_with_bounded_retries_and_failure_destination(synth, workspace):
    config = fn(synth, workspace, "digest", "aws_lambda_function_event_invoke_config", "async_config")
    assert config["maximum_retry_attempts"] == 2 and config["maximum_event_age_in_seconds"] == 3600
    assert config["qualifier"] == ref(synth, f"{workspace}-app", "aws_lambda_alias", "digest/alias", "name")
    assert config["destination_config"]["on_failure"]["destination"] == remote_ref(
        synth, workspace, "data", "aws_sqs_queue", "data/dlq_digest", "arn")


def state_machine(synth, workspace="dev"):
    machine = synth.resource(f"{workspace}-app", "aws_sfn_state_machine", "workflow/state_machine")
    return machine, json.loads(machine["definition"])


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_workflow_shape(synth, workspace):
    stack = f"{workspace}-app"
    machine, definition = state_machine(synth, workspace)
    assert machine["type"] == "STANDARD"
    assert machine["logging_configuration"]["level"] == "ALL"
    # Payloads (execution data) are logged where there is no client data: dev and local
    assert machine["logging_configuration"]["include_execution_data"] is (workspace in ("dev", "local"))
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
    # MarkFailed's last resort: Step Functions sets the job FAILED itself (no Lambda).
    assert states["MarkFailed"]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.mark_failed_error",
                                              "Next": "RecordFailure"}]
    record = states["RecordFailure"]
    # In the partition the stack deploys into (the workflow's own aws_partition lookup).
    [partition] = [logical for logical, cfg in synth.stack(f"{workspace}-app")["data"]["aws_partition"].items()
                   if cfg["//"]["metadata"]["path"].endswith("workflow/partition")]
    assert record["Resource"] == (f"arn:${{data.aws_partition.{partition}.partition}}"
                                  ":states:::dynamodb:updateItem") and record["Next"] == "Failed"
    assert record["Parameters"]["TableName"] == remote_ref(synth, workspace, "data", "aws_dynamodb_table",
                                                           "data/table", "name")
    assert record["Parameters"]["ConditionExpression"] == (
        "attribute_exists(pk) AND #status IN (:pending, :processing)")
    assert record["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.record_failure_error",
                                "Next": "Failed"}]
    for task in ("ValidateInput", "ProcessData", "SendNotification"):
        (catch,) = states[task]["Catch"]
        assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MarkFailed"}
    # Each Task calls a function's live alias.
    for state, function in WORKFLOW_TASKS.items():
        assert states[state]["Resource"] == ref(synth, stack, "aws_lambda_alias",
                                                f"{function.replace('-', '_')}/alias", "arn")


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_workflow_retries(synth, workspace):
    _, definition = state_machine(synth, workspace)
    states = definition["States"]
    for state, function in WORKFLOW_TASKS.items():
        retries = [r for r in states[state]["Retry"] if r["MaxAttempts"] > 0]
        assert retries, state
        for retry in retries:
            assert (retry["IntervalSeconds"], retry["MaxAttempts"], retry["BackoffRate"]) == TASK_RETRY[state]
            assert retry["JitterStrategy"] == "FULL"
        retried = {error for retry in retries for error in retry["ErrorEquals"]}
        assert set(LAMBDA_SERVICE_ERRORS) <= retried, state
        # A task whose code calls AWS can raise TransientError: it must be retried there.
        calls_aws = bool(handler_grants(next(s.handler for s in FUNCTIONS if s.name == function)).grants)
        assert (TRANSIENT_ERROR in retried) is calls_aws, state
        # Errors a retry cannot fix are never retried: a broad retry comes after MaxAttempts 0 for them.
        assert not set(PERMANENT_ERRORS) & retried, state
        if {"States.TaskFailed", "States.ALL"} & retried:
            assert states[state]["Retry"][0] == {"ErrorEquals": PERMANENT_ERRORS, "MaxAttempts": 0}, state


def test_workflow_error_names_are_the_handlers_exception_classes():
    classes = {node.name for node in ast.walk(ast.parse((ROOT / "handlers/shared/exceptions.py").read_text()))
               if isinstance(node, ast.ClassDef)}
    assert TRANSIENT_ERROR in classes and exceptions.TransientError.__name__ == TRANSIENT_ERROR
    assert set(PERMANENT_ERRORS) <= classes
    assert all(issubclass(getattr(exceptions, name), exceptions.DomainError) for name in PERMANENT_ERRORS)
    assert not any(issubclass(getattr(exceptions, name), exceptions.TransientError) for name in PERMANENT_ERRORS)


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_workflow_logs_into_the_cmk_log_group(synth, workspace):
    stack = f"{workspace}-app"
    machine, _ = state_machine(synth, workspace)
    log_group = synth.resource(stack, "aws_cloudwatch_log_group", "workflow/log_group")
    assert machine["logging_configuration"]["log_destination"] == (
        ref(synth, stack, "aws_cloudwatch_log_group", "workflow/log_group", "arn") + ":*")
    assert log_group["kms_key_id"] == remote_ref(synth, workspace, "security", "aws_kms_key", "security/key", "arn")
    assert log_group["name"] == f"/aws/vendedlogs/states/serverless-app-{workspace}-jobs"
    assert log_group["retention_in_days"] == RETENTION[workspace]


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_workflow_role_has_exactly_the_allowed_statements(synth, workspace):
    """Invoke the four task aliases; UpdateItem on the table (RecordFailure); log delivery and
    X-Ray on `*` (no resource-level permissions). Nothing else: the CMK log group is written
    by CloudWatch Logs under the key policy, not by this role."""
    stack = f"{workspace}-app"
    document = json.loads(synth.resource(stack, "aws_iam_role_policy", "workflow/policy")["policy"])
    aliases = sorted(ref(synth, stack, "aws_lambda_alias", f"{name.replace('-', '_')}/alias", "arn")
                     for name in WORKFLOW_TASKS.values())
    expected = {
        "InvokeTaskAliases": (["lambda:InvokeFunction"], aliases),
        "LogDelivery": (sorted(["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                                "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                                "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"]), "*"),
        "Tracing": (sorted(["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                            "xray:GetSamplingTargets"]), "*"),
        # RecordFailure's direct DynamoDB integration: UpdateItem on the table, nothing more.
        "RecordFailure": (["dynamodb:UpdateItem"],
                          [remote_ref(synth, workspace, "data", "aws_dynamodb_table", "data/table", "arn")]),
    }
    actual = {s["Sid"]: (s["Action"], sorted(s["Resource"]) if isinstance(s["Resource"], list) else s["Resource"])
              for s in document["Statement"]}
    assert actual == expected
    assert all(s["Effect"] == "Allow" and set(s) == {"Sid", "Effect", "Action", "Resource"}
               for s in document["Statement"])


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_api_knows_the_state_machine_by_static_arn(synth, workspace):
    env = fn(synth, workspace, "api")["environment"]["variables"]
    assert env["STATE_MACHINE_ARN"].startswith("arn:${data.aws_partition.")
    assert env["STATE_MACHINE_ARN"].endswith(f":stateMachine:serverless-app-{workspace}-jobs")
    machine, _ = state_machine(synth, workspace)
    assert machine["name"] == f"serverless-app-{workspace}-jobs"
    # No dependency from the API function on the state machine (that would be a cycle).
    assert "aws_sfn_state_machine" not in json.dumps(fn(synth, workspace, "api"))


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_schedule_targets_digest_alias(synth, workspace):
    stack = f"{workspace}-app"
    rule = synth.resource(stack, "aws_cloudwatch_event_rule", "digest_schedule")
    assert rule["schedule_expression"] == SETTINGS[workspace].app.schedule_expression == "rate(1 day)"
    target = synth.resource(stack, "aws_cloudwatch_event_target", "digest_target")
    assert target["arn"] == ref(synth, stack, "aws_lambda_alias", "digest/alias", "arn")
    assert target["retry_policy"] == {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 3}
    assert target["dead_letter_config"]["arn"] == remote_ref(synth, workspace, "data", "aws_sqs_queue",
                                                         "data/dlq_schedule", "arn")
    permission = synth.resource(stack, "aws_lambda_permission", "digest_invoke_permission")
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["source_arn"] == ref(synth, stack, "aws_cloudwatch_event_rule", "digest_schedule", "arn")
    assert permission["qualifier"] == ref(synth, stack, "aws_lambda_alias", "digest/alias", "name")
    queue_policy = json.loads(synth.resource(f"{workspace}-data", "aws_sqs_queue_policy",
                                             "dlq_schedule_policy")["policy"])
    allow = next(s for s in queue_policy["Statement"] if s["Effect"] == "Allow")
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(
        f":rule/serverless-app-{workspace}-digest-schedule")


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_stream_mapping(synth, workspace):
    stack, app = f"{workspace}-app", SETTINGS[workspace].app
    mapping = synth.resource(stack, "aws_lambda_event_source_mapping", "stream_mapping")
    assert mapping["event_source_arn"] == remote_ref(synth, workspace, "data", "aws_dynamodb_table", "data/table",
                                                 "stream_arn")
    assert mapping["function_name"] == ref(synth, stack, "aws_lambda_alias", "stream_consumer/alias", "arn")
    assert mapping["starting_position"] == "LATEST"
    assert mapping["bisect_batch_on_function_error"] is True
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["maximum_retry_attempts"] == app.stream_max_retries == 3
    assert mapping["maximum_record_age_in_seconds"] == app.stream_max_record_age_seconds == 3600
    assert (mapping["batch_size"], mapping["maximum_batching_window_in_seconds"]) == (
        app.stream_batch_size, app.stream_batching_window_seconds) == (100, 5)
    # S3 keeps the discarded batch's records (SQS would get metadata only).
    assert mapping["destination_config"]["on_failure"]["destination_arn"] == remote_ref(
        synth, workspace, "data", "aws_s3_bucket", "data/stream_failure_bucket/bucket", "arn")
