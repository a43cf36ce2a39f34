"""Observability layer: the encrypted alert topic, alarms with actions, the dashboard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modules.catalog import FUNCTIONS, dlq_names
from modules.config import WORKSPACES, AlarmRule, AlarmSettings
from modules.observability import TABLE_OPERATIONS, TREAT_MISSING_DATA, AlarmTargets, alarm_specs
from tests.infra.conftest import SETTINGS
from tests.infra.synthesized import fn, ref, remote_ref

KINDS = ("synth", "synth_http")  # the REST (default) and HTTP API kinds' session synths


def alarms(synth, workspace="dev"):
    return {a["alarm_name"]: a for a in synth.resources(f"{workspace}-observability",
                                                         "aws_cloudwatch_metric_alarm").values()}


def assert_metric_alarm(alarm, *, namespace, metric, dimensions, threshold=None, periods=None, rule=None,
                        statistic="Sum", comparison="GreaterThanThreshold"):
    if rule is not None:  # an AlarmRule of AlarmSettings gives both numbers
        threshold, periods = rule.threshold, rule.periods
    assert (alarm["namespace"], alarm["metric_name"], alarm["dimensions"]) == (namespace, metric, dimensions)
    assert (alarm["threshold"], alarm["evaluation_periods"], alarm["period"]) == (threshold, periods, 300)
    assert alarm["comparison_operator"] == comparison
    if statistic.startswith("p"):
        assert alarm["extended_statistic"] == statistic and "statistic" not in alarm
    else:
        assert alarm["statistic"] == statistic and "extended_statistic" not in alarm


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_alert_topic_encrypted_with_alarm_publish_policy_and_emails(request, kind, workspace):
    synth = request.getfixturevalue(kind)
    stack = f"{workspace}-observability"
    topic = synth.resource(stack, "aws_sns_topic", "alert_topic")
    assert topic["name"] == f"serverless-app-{workspace}-alerts"
    assert topic["kms_master_key_id"] == remote_ref(synth, workspace, "security", "aws_kms_key", "security/key", "arn")
    policy = json.loads(synth.resource(stack, "aws_sns_topic_policy", "alert_topic_policy")["policy"])
    publish = next(s for s in policy["Statement"] if s["Effect"] == "Allow")
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and publish["Action"] == "sns:Publish"
    assert publish["Resource"] == ref(synth, stack, "aws_sns_topic", "alert_topic", "arn")
    (caller,) = synth.stack(stack)["data"]["aws_caller_identity"]
    account = f"${{data.aws_caller_identity.{caller}.account_id}}"
    assert publish["Condition"]["StringEquals"]["aws:SourceAccount"] == account
    subscriptions = synth.resources(stack, "aws_sns_topic_subscription").values()
    assert sorted(s["endpoint"] for s in subscriptions) == ["oncall@example.com", "ops@example.com"]
    for subscription in subscriptions:
        assert subscription["protocol"] == "email"
        assert subscription["topic_arn"] == ref(synth, stack, "aws_sns_topic", "alert_topic", "arn")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_every_alarm_acts_on_the_topic(request, kind, workspace):
    synth = request.getfixturevalue(kind)
    topic = ref(synth, f"{workspace}-observability", "aws_sns_topic", "alert_topic", "arn")
    found = alarms(synth, workspace)
    assert len(found) == len(FUNCTIONS) * 3 + 2 + 3 + 2 + len(dlq_names()) + 3
    for name, alarm in found.items():
        assert alarm["alarm_actions"] == [topic] and alarm["ok_actions"] == [topic], name


# The treat_missing_data each alarm family must use (reasons: modules/observability.py).
EXPECTED_MISSING_DATA = {
    "errors": "notBreaching", "throttles": "notBreaching", "duration-p99": "notBreaching",
    "api-5xx": "notBreaching", "api-4xx-rate": "notBreaching", "api-latency-p99": "notBreaching",
    "table-": "notBreaching", "dlq-": "notBreaching", "workflow-": "notBreaching",
    "stream-iterator-age": "notBreaching", "stream-destination-delivery-failures": "notBreaching",
}


def family_of(alarm_name, workspace):
    short = alarm_name.removeprefix(f"serverless-app-{workspace}-")
    for family in ("api-5xx", "api-4xx-rate", "api-latency-p99", "table-", "dlq-", "workflow-",
                   "stream-iterator-age", "stream-destination-delivery-failures"):
        if short.startswith(family):
            return family
    return next(f for f in ("errors", "throttles", "duration-p99") if short.endswith(f"-{f}"))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_treat_missing_data_per_alarm_family(request, kind, workspace):
    synth = request.getfixturevalue(kind)
    for name, alarm in alarms(synth, workspace).items():
        assert alarm["treat_missing_data"] == EXPECTED_MISSING_DATA[family_of(name, workspace)], name
    # Every family's choice is stated once, in one table, next to its reason.
    assert set(TREAT_MISSING_DATA) == {
        "function_errors", "function_throttles", "function_duration", "api_5xx", "api_4xx_rate", "api_latency",
        "table_errors", "dlq_visible", "workflow_executions", "stream_iterator_age", "stream_destination"}


def test_treat_missing_data_reasons_are_written_down():
    source = (Path(__file__).resolve().parents[2] / "modules/observability.py").read_text()
    block = source[source.index("TREAT_MISSING_DATA: dict"):source.index("\n}\n", source.index("TREAT_MISSING_DATA"))]
    lines = block.splitlines()[1:]
    for index, line in enumerate(lines):
        if line.strip().startswith('"'):
            above = [entry.strip() for entry in lines[:index]]
            assert any(entry.startswith("#") for entry in above), line  # a reason precedes it
    assert lines[0].strip().startswith("#")


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_required_alarms_exist(synth, workspace):
    names = set(alarms(synth, workspace))
    prefix = f"serverless-app-{workspace}-"
    for spec in FUNCTIONS:
        key = spec.name
        assert {f"{prefix}{key}-errors", f"{prefix}{key}-throttles", f"{prefix}{key}-duration-p99"} <= names
    for queue in dlq_names():
        assert f"{prefix}dlq-{queue}-visible" in names
    assert {f"{prefix}api-5xx", f"{prefix}api-4xx-rate", f"{prefix}api-latency-p99",
            f"{prefix}table-throttledrequests", f"{prefix}table-systemerrors", f"{prefix}workflow-failed",
            f"{prefix}workflow-executionstimedout", f"{prefix}workflow-executionthrottled",
            f"{prefix}stream-iterator-age"} <= names


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_function_and_stream_alarm_metrics(request, kind, workspace):
    synth = request.getfixturevalue(kind)
    found, config = alarms(synth, workspace), SETTINGS[workspace].alarms
    prefix = f"serverless-app-{workspace}-"
    for spec in FUNCTIONS:
        # The dimension names the function the app layer really creates.
        name = fn(synth, workspace, spec.name)["function_name"]
        assert name == f"{prefix}{spec.name}"
        sizing = SETTINGS[workspace].app.sizing(spec.name)
        dims = {"FunctionName": name}
        assert_metric_alarm(found[f"{prefix}{spec.name}-errors"], namespace="AWS/Lambda", metric="Errors",
                            dimensions=dims, rule=config.function_errors)
        assert_metric_alarm(found[f"{prefix}{spec.name}-throttles"], namespace="AWS/Lambda", metric="Throttles",
                            dimensions=dims, rule=config.function_throttles)
        assert_metric_alarm(found[f"{prefix}{spec.name}-duration-p99"], namespace="AWS/Lambda", metric="Duration",
                            dimensions=dims, threshold=sizing.timeout_seconds * 1000 * 0.8,
                            periods=config.function_duration_p99.periods, statistic="p99")
    assert_metric_alarm(found[f"{prefix}stream-iterator-age"], namespace="AWS/Lambda", metric="IteratorAge",
                        dimensions={"FunctionName": fn(synth, workspace, "stream-consumer")["function_name"]},
                        rule=config.stream_iterator_age_ms, statistic="Maximum")
    # Issue 11: a failed batch that cannot be written to the S3 destination is lost: alarmed at once.
    assert_metric_alarm(found[f"{prefix}stream-destination-delivery-failures"], namespace="AWS/Lambda",
                        metric="DestinationDeliveryFailures",
                        dimensions={"FunctionName": fn(synth, workspace, "stream-consumer")["function_name"]},
                        rule=config.stream_destination_delivery_failures, comparison="GreaterThanOrEqualToThreshold")


def rest_api_dimensions(synth, workspace):
    assert synth.resource(f"{workspace}-app", "aws_api_gateway_stage", "gateway/stage")["stage_name"] == workspace
    return {"ApiName": remote_ref(synth, workspace, "app", "aws_api_gateway_rest_api", "gateway/rest_api", "name"),
            "Stage": workspace}


def http_api_dimensions(synth, workspace):
    return {"ApiId": remote_ref(synth, workspace, "app", "aws_apigatewayv2_api", "gateway/http_api", "id"),
            "Stage": "$default"}


# Per API kind: its metric names for 5xx, 4xx and latency, and its dimensions.
API_KIND_METRICS = {
    "synth": (("5XXError", "4XXError", "Latency"), rest_api_dimensions),
    "synth_http": (("5xx", "4xx", "Latency"), http_api_dimensions),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_api_alarm_metrics(request, kind, workspace):
    synth = request.getfixturevalue(kind)
    found, config = alarms(synth, workspace), SETTINGS[workspace].alarms
    prefix = f"serverless-app-{workspace}-"
    (server_errors, client_errors, latency), dimensions = API_KIND_METRICS[kind]
    dims = dimensions(synth, workspace)
    assert_metric_alarm(found[f"{prefix}api-5xx"], namespace="AWS/ApiGateway", metric=server_errors,
                        dimensions=dims, rule=config.api_5xx)
    # A rate: the Average of the 4xx metric is the share of requests answered 4xx.
    assert_metric_alarm(found[f"{prefix}api-4xx-rate"], namespace="AWS/ApiGateway", metric=client_errors,
                        dimensions=dims, rule=config.api_4xx_rate,
                        statistic="Average")
    assert_metric_alarm(found[f"{prefix}api-latency-p99"], namespace="AWS/ApiGateway", metric=latency,
                        dimensions=dims, rule=config.api_latency_p99_ms,
                        statistic="p99")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_table_queue_and_workflow_alarm_metrics(request, kind, workspace):
    synth = request.getfixturevalue(kind)
    found, config = alarms(synth, workspace), SETTINGS[workspace].alarms
    prefix = f"serverless-app-{workspace}-"
    table = remote_ref(synth, workspace, "data", "aws_dynamodb_table", "data/table", "name")
    for metric, threshold, periods in (
            ("ThrottledRequests", config.table_throttled_requests.threshold, config.table_throttled_requests.periods),
            ("SystemErrors", config.table_system_errors.threshold, config.table_system_errors.periods)):
        alarm = found[f"{prefix}table-{metric.lower()}"]
        assert (alarm["threshold"], alarm["evaluation_periods"]) == (threshold, periods)
        assert alarm["comparison_operator"] == "GreaterThanThreshold"
        queries = {q["id"]: q for q in alarm["metric_query"]}
        parts = [q for q in queries.values() if "metric" in q]
        assert [q["metric"]["dimensions"] for q in parts] == [{"TableName": table, "Operation": operation}
                                                              for operation in TABLE_OPERATIONS]
        for query in parts:
            assert (query["metric"]["namespace"], query["metric"]["metric_name"]) == ("AWS/DynamoDB", metric)
            assert (query["metric"]["stat"], query["metric"]["period"], query["return_data"]) == ("Sum", 300, False)
        total = queries["total"]
        assert total["return_data"] is True
        assert total["expression"] == f"SUM([{','.join(q['id'] for q in parts)}])"
    for queue in dlq_names():
        queue_name = remote_ref(synth, workspace, "data", "aws_sqs_queue", f"data/dlq_{queue.replace('-', '_')}",
                                "name")
        assert_metric_alarm(found[f"{prefix}dlq-{queue}-visible"], namespace="AWS/SQS",
                            metric="ApproximateNumberOfMessagesVisible", dimensions={"QueueName": queue_name},
                            rule=config.dlq_visible_messages,
                            statistic="Maximum", comparison="GreaterThanOrEqualToThreshold")
    machine = {"StateMachineArn": remote_ref(synth, workspace, "app", "aws_sfn_state_machine", "workflow/state_machine",
                                       "arn")}
    assert_metric_alarm(found[f"{prefix}workflow-failed"], namespace="AWS/States", metric="ExecutionsFailed",
                        dimensions=machine, rule=config.state_machine_failed)
    assert_metric_alarm(found[f"{prefix}workflow-executionstimedout"], namespace="AWS/States",
                        metric="ExecutionsTimedOut", dimensions=machine,
                        rule=config.state_machine_timed_out, comparison="GreaterThanOrEqualToThreshold")
    assert_metric_alarm(found[f"{prefix}workflow-executionthrottled"], namespace="AWS/States",
                        metric="ExecutionThrottled", dimensions=machine,
                        rule=config.state_machine_throttled, comparison="GreaterThanOrEqualToThreshold")


def targets() -> AlarmTargets:
    return AlarmTargets(functions={spec.name: f"fn-{spec.name}" for spec in FUNCTIONS},
                        api_dimensions={"ApiName": "api", "Stage": "dev"},
                        api_metrics={"5xx": "5XXError", "4xx": "4XXError", "latency": "Latency"},
                        table_name="table", queues={name: f"q-{name}" for name in dlq_names()},
                        state_machine_arn="arn:machine")


def changed_rule(rule: AlarmRule) -> AlarmRule:
    """The same kind of rule with another threshold and other periods, both within bounds."""
    fields = type(rule).model_fields
    upper = next((m.le for m in fields["threshold"].metadata if hasattr(m, "le")), None)
    threshold = rule.threshold / 2 if upper is not None else rule.threshold + 1
    periods = rule.periods + 1 if rule.periods < 24 else rule.periods - 1
    return type(rule)(threshold=threshold, periods=periods)


def test_every_alarm_number_comes_from_alarm_settings():
    # Given alarm settings where every rule's threshold and periods differ from its default,
    defaults = AlarmSettings()
    custom = AlarmSettings(**{field: changed_rule(getattr(defaults, field)) for field in AlarmSettings.model_fields})
    settings = SETTINGS["prod"].model_copy(update={"alarms": custom})
    # when the alarms are built from them,
    before = {a.id: a for a in alarm_specs(SETTINGS["prod"], targets())}
    after = {a.id: a for a in alarm_specs(settings, targets())}
    # then every alarm's threshold and evaluation periods change with them.
    assert before.keys() == after.keys()
    for id_, spec in after.items():
        assert spec.threshold != before[id_].threshold, id_
        assert spec.periods != before[id_].periods, id_
    assert after["workflow_executionstimedout"].threshold == custom.state_machine_timed_out.threshold
    assert after["workflow_executionthrottled"].periods == custom.state_machine_throttled.periods
    assert after["dlq_api_visible"].threshold == custom.dlq_visible_messages.threshold
    assert after["table_systemerrors"].periods == custom.table_system_errors.periods
    assert after["process_duration_p99"].threshold == 90 * 1000 * custom.function_duration_p99.threshold


def test_duration_alarm_follows_a_per_function_timeout_override():
    # A workspace that gives one function its own timeout
    app = SETTINGS["prod"].app
    app = type(app).model_validate({**app.model_dump(), "function_overrides": {"digest": {"timeout_seconds": 300}}})
    settings = SETTINGS["prod"].model_copy(update={"app": app})
    before = {a.id: a for a in alarm_specs(SETTINGS["prod"], targets())}
    after = {a.id: a for a in alarm_specs(settings, targets())}
    # moves that function's p99 duration alarm, and no other alarm.
    assert after["digest_duration_p99"].threshold == 300 * 1000 * settings.alarms.function_duration_p99.threshold
    assert [id_ for id_ in after if after[id_] != before[id_]] == ["digest_duration_p99"]


def test_synthesized_alarms_match_the_alarm_specs(synth):
    # The session synth (default settings) renders exactly what alarm_specs computes.
    found = alarms(synth, "prod")
    for spec in alarm_specs(SETTINGS["prod"], targets()):
        alarm = found[f"serverless-app-prod-{spec.id.replace('_', '-')}"]
        assert (alarm["threshold"], alarm["evaluation_periods"]) == (spec.threshold, spec.periods), spec.id
        assert alarm["treat_missing_data"] == spec.treat_missing_data


def test_alarm_settings_bounds():
    with pytest.raises(ValueError, match="dlq_visible_messages.threshold"):
        AlarmSettings(dlq_visible_messages={"threshold": 0})
    with pytest.raises(ValueError, match="state_machine_timed_out.periods"):
        AlarmSettings(state_machine_timed_out={"threshold": 1, "periods": 0})
    with pytest.raises(ValueError, match="table_system_errors.periods"):
        AlarmSettings(table_system_errors={"threshold": 0, "periods": 25})
    with pytest.raises(ValueError, match="function_duration_p99.threshold"):
        AlarmSettings(function_duration_p99={"threshold": 1.5})


def test_thresholds_follow_the_reference(synth):
    found = alarms(synth, "prod")
    errors = found["serverless-app-prod-process-errors"]
    assert (errors["threshold"], errors["evaluation_periods"], errors["period"]) == (10, 2, 300)
    throttles = found["serverless-app-prod-process-throttles"]
    assert (throttles["threshold"], throttles["evaluation_periods"]) == (5, 1)
    duration = found["serverless-app-prod-process-duration-p99"]
    assert duration["extended_statistic"] == "p99" and duration["threshold"] == 90 * 1000 * 0.8
    dlq = found["serverless-app-prod-dlq-api-visible"]
    assert dlq["comparison_operator"] == "GreaterThanOrEqualToThreshold" and dlq["threshold"] == 1
    failed = found["serverless-app-prod-workflow-failed"]
    assert failed["threshold"] == 5 and failed["namespace"] == "AWS/States"
    table = found["serverless-app-prod-table-throttledrequests"]
    expression = next(q for q in table["metric_query"] if q.get("expression"))
    assert expression["expression"].startswith("SUM([")


def test_http_variant_alarms_use_http_metrics(synth_http):
    found = alarms(synth_http)
    api_5xx = found["serverless-app-dev-api-5xx"]
    assert api_5xx["metric_name"] == "5xx" and api_5xx["dimensions"]["Stage"] == "$default"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_dashboard_rows(request, kind, workspace):
    synth = request.getfixturevalue(kind)
    dashboard = synth.resource(f"{workspace}-observability", "aws_cloudwatch_dashboard", "dashboard")
    assert dashboard["dashboard_name"] == f"serverless-app-{workspace}-overview"
    body = json.loads(dashboard["dashboard_body"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert titles == ["API", "Functions: errors", "Table", "Workflow", "Dead-letter queues"]
    api_row = body["widgets"][0]["properties"]["metrics"]
    (server_errors, client_errors, _latency), dimensions = API_KIND_METRICS[kind]
    api_dims = [part for pair in dimensions(synth, workspace).items() for part in pair]
    assert [m[1] for m in api_row] == ["Count", client_errors, server_errors]
    assert all(m[2:] == api_dims for m in api_row)
    functions = [m[3] for m in body["widgets"][1]["properties"]["metrics"]]
    assert functions == [f"serverless-app-{workspace}-{spec.name}" for spec in FUNCTIONS]
    assert len(body["widgets"][4]["properties"]["metrics"]) == len(dlq_names())


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_outputs(synth, workspace):
    outputs = synth.stack(f"{workspace}-observability")["output"]
    assert set(outputs) == {"alert_topic_arn", "dashboard_url", "api_url", "api_key_id"}
    assert outputs["alert_topic_arn"]["value"] == ref(synth, f"{workspace}-observability", "aws_sns_topic",
                                                      "alert_topic", "arn")
    assert outputs["dashboard_url"]["value"] == (
        "https://us-west-2.console.aws.amazon.com/cloudwatch/home?region=us-west-2"
        f"#dashboards:name=serverless-app-{workspace}-overview")
    assert outputs["api_url"]["value"] == remote_ref(synth, workspace, "app", "aws_api_gateway_stage", "gateway/stage",
                                               "invoke_url")
    assert outputs["api_key_id"]["value"] == remote_ref(synth, workspace, "app", "aws_api_gateway_api_key",
                                                  "gateway/api_key", "id")


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_outputs_http_kind(synth_http, workspace):
    # HTTP APIs have no API keys: callers sign with SigV4, so there is no key id to output.
    outputs = synth_http.stack(f"{workspace}-observability")["output"]
    assert set(outputs) == {"alert_topic_arn", "dashboard_url", "api_url"}
    assert outputs["alert_topic_arn"]["value"] == ref(synth_http, f"{workspace}-observability", "aws_sns_topic",
                                                      "alert_topic", "arn")
    assert outputs["dashboard_url"]["value"].endswith(f"#dashboards:name=serverless-app-{workspace}-overview")
    assert outputs["api_url"]["value"] == remote_ref(synth_http, workspace, "app", "aws_apigatewayv2_stage",
                                               "gateway/stage", "invoke_url")
    app_outputs = synth_http.stack(f"{workspace}-app")["output"]
    assert "api_key_id" not in app_outputs and "api_key_value" not in app_outputs
    assert app_outputs["api_id"]["value"] == ref(synth_http, f"{workspace}-app", "aws_apigatewayv2_api",
                                                 "gateway/http_api", "id")
