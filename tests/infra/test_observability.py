"""Observability layer: the encrypted alert topic, alarms with actions, the dashboard."""

from __future__ import annotations

import json

import pytest

from modules.catalog import FUNCTIONS, dlq_names
from modules.config import WORKSPACES
from tests.infra.test_app import ref


def alarms(synth, workspace="dev"):
    return {a["alarm_name"]: a for a in synth.resources(f"{workspace}-observability",
                                                         "aws_cloudwatch_metric_alarm").values()}


def test_alert_topic_encrypted_with_alarm_publish_policy_and_emails(synth):
    topic = synth.resource("dev-observability", "aws_sns_topic", "alert_topic")
    assert "terraform_remote_state" in topic["kms_master_key_id"]
    policy = json.loads(synth.resource("dev-observability", "aws_sns_topic_policy", "alert_topic_policy")["policy"])
    publish = next(s for s in policy["Statement"] if s["Effect"] == "Allow")
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and publish["Action"] == "sns:Publish"
    assert "aws:SourceAccount" in publish["Condition"]["StringEquals"]
    emails = sorted(s["endpoint"] for s in synth.resources("dev-observability", "aws_sns_topic_subscription").values())
    assert emails == ["oncall@example.com", "ops@example.com"]


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_every_alarm_acts_on_the_topic(synth, workspace):
    topic = ref(synth, f"{workspace}-observability", "aws_sns_topic", "alert_topic", "arn")
    for name, alarm in alarms(synth, workspace).items():
        assert alarm["alarm_actions"] == [topic] and alarm["ok_actions"] == [topic], name
        assert alarm["treat_missing_data"] in ("notBreaching", "breaching", "missing", "ignore")


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


def test_dashboard_rows(synth):
    body = json.loads(synth.resource("dev-observability", "aws_cloudwatch_dashboard", "dashboard")["dashboard_body"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert titles == ["API", "Functions: errors", "Table", "Workflow", "Dead-letter queues"]


def test_outputs(synth):
    outputs = synth.stack("dev-observability")["output"]
    assert {"alert_topic_arn", "dashboard_url", "api_url", "api_key_id"} <= set(outputs)
