"""Observability layer: the encrypted alert topic with e-mail subscriptions, alarms on
every function, queue, the table, the API and the workflow, and one dashboard."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from modules.api_rest import RestApi
from modules.app import AppLayer
from modules.base_stack import LayerStack
from modules.catalog import FUNCTIONS, dlq_names
from modules.config import WorkspaceSettings
from modules.data import DataLayer
from modules.iam import deny_insecure_transport, policy_document

PERIOD = 300  # seconds: every alarm evaluates 5-minute periods
# Operations the handlers call on the table (DynamoDB reports throttles and system errors
# per operation, so the table alarms sum these).
TABLE_OPERATIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query")
# treat_missing_data, with the reason:
# - counts of bad events (errors, throttles, failures, messages): no data means none happened.
NO_DATA_IS_OK = "notBreaching"
# - latency and iterator age: no data means no traffic, which is not an incident here.
NO_TRAFFIC_IS_OK = "notBreaching"


@dataclass(frozen=True)
class ObservabilityInputs:
    settings: WorkspaceSettings
    kms_key_arn: str
    data: DataLayer
    app: AppLayer


class Observability(Construct):
    def __init__(self, scope: Construct, id_: str, inputs: ObservabilityInputs) -> None:
        super().__init__(scope, id_)
        self._inputs = inputs
        self._settings = inputs.settings
        self.topic = self._build_topic()
        self.alarms: list[CloudwatchMetricAlarm] = []
        self._function_alarms()
        self._api_alarms()
        self._table_alarms()
        self._queue_alarms()
        self._workflow_alarms()
        self.dashboard = CloudwatchDashboard(self, "dashboard", dashboard_name=self._settings.name("overview"),
                                             dashboard_body=json.dumps(self._dashboard(), sort_keys=True))

    def _build_topic(self) -> SnsTopic:
        account = DataAwsCallerIdentity(self, "caller").account_id
        topic = SnsTopic(self, "alert_topic", name=self._settings.name("alerts"),
                         kms_master_key_id=self._inputs.kms_key_arn)
        SnsTopicPolicy(self, "alert_topic_policy", arn=topic.arn, policy=policy_document(
            {"Sid": "CloudWatchAlarmsOfThisAccount", "Effect": "Allow",
             "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish",
             "Resource": topic.arn, "Condition": {"StringEquals": {"aws:SourceAccount": account}}},
            deny_insecure_transport([topic.arn], service="sns"),
        ))
        for index, email in enumerate(self._settings.alert_emails):
            SnsTopicSubscription(self, f"email_{index}", topic_arn=topic.arn, protocol="email", endpoint=email)
        return topic

    def _alarm(self, id_: str, description: str, *, metric: str, namespace: str, dimensions: dict[str, str],
               threshold: float, statistic: str = "Sum", periods: int = 1,
               comparison: str = "GreaterThanThreshold", missing: str = NO_DATA_IS_OK) -> None:
        percentile = statistic.startswith("p")
        self.alarms.append(CloudwatchMetricAlarm(
            self, id_, alarm_name=self._settings.name(id_.replace("_", "-")), alarm_description=description,
            namespace=namespace, metric_name=metric, dimensions=dimensions, period=PERIOD,
            statistic=None if percentile else statistic, extended_statistic=statistic if percentile else None,
            evaluation_periods=periods, threshold=threshold, comparison_operator=comparison,
            treat_missing_data=missing, alarm_actions=[self.topic.arn], ok_actions=[self.topic.arn]))

    def _function_alarms(self) -> None:
        alarms, app = self._settings.alarms, self._settings.app
        for spec in FUNCTIONS:
            name = self._inputs.app.functions[spec.name].function_name
            sizing = app.api_function if spec.kind == "api" else app.task_function
            key = spec.name.replace("-", "_")
            dims = {"FunctionName": name}
            self._alarm(f"{key}_errors", f"{name}: errors", metric="Errors", namespace="AWS/Lambda",
                        dimensions=dims, threshold=alarms.function_errors, periods=alarms.function_errors_periods)
            self._alarm(f"{key}_throttles", f"{name}: throttles", metric="Throttles", namespace="AWS/Lambda",
                        dimensions=dims, threshold=alarms.function_throttles)
            limit_ms = sizing.timeout_seconds * 1000 * alarms.duration_p99_fraction_of_timeout
            self._alarm(f"{key}_duration_p99", f"{name}: p99 duration above {limit_ms:.0f} ms",
                        metric="Duration", namespace="AWS/Lambda", dimensions=dims, statistic="p99",
                        threshold=limit_ms, missing=NO_TRAFFIC_IS_OK)
        consumer = self._inputs.app.functions["stream-consumer"].function_name
        self._alarm("stream_iterator_age", f"{consumer}: stream records waiting too long", metric="IteratorAge",
                    namespace="AWS/Lambda", dimensions={"FunctionName": consumer}, statistic="Maximum",
                    threshold=alarms.stream_iterator_age_ms, missing=NO_TRAFFIC_IS_OK)

    def _api_dimensions(self) -> tuple[dict[str, str], dict[str, str]]:
        api = self._inputs.app.api
        if isinstance(api, RestApi):
            dims = {"ApiName": api.api.name, "Stage": self._settings.workspace}
            return dims, {"5xx": "5XXError", "4xx": "4XXError", "latency": "Latency"}
        dims = {"ApiId": api.api.id, "Stage": "$default"}
        return dims, {"5xx": "5xx", "4xx": "4xx", "latency": "Latency"}

    def _api_alarms(self) -> None:
        alarms = self._settings.alarms
        dims, names = self._api_dimensions()
        self._alarm("api_5xx", "API: server errors", metric=names["5xx"], namespace="AWS/ApiGateway",
                    dimensions=dims, threshold=alarms.api_5xx)
        # The Average of the 4XX metric is the share of requests answered 4xx.
        self._alarm("api_4xx_rate", "API: client error rate", metric=names["4xx"], namespace="AWS/ApiGateway",
                    dimensions=dims, statistic="Average", threshold=alarms.api_4xx_rate,
                    periods=alarms.api_4xx_periods)
        self._alarm("api_latency_p99", "API: p99 latency", metric=names["latency"], namespace="AWS/ApiGateway",
                    dimensions=dims, statistic="p99", threshold=alarms.api_latency_p99_ms, missing=NO_TRAFFIC_IS_OK)

    def _table_alarms(self) -> None:
        alarms, table = self._settings.alarms, self._inputs.data.table
        for metric, threshold in (("ThrottledRequests", alarms.table_throttled_requests),
                                  ("SystemErrors", alarms.table_system_errors)):
            queries = [CloudwatchMetricAlarmMetricQuery(
                id=f"m{i}", return_data=False, metric=CloudwatchMetricAlarmMetricQueryMetric(
                    namespace="AWS/DynamoDB", metric_name=metric, period=PERIOD, stat="Sum",
                    dimensions={"TableName": table.name, "Operation": operation}))
                for i, operation in enumerate(TABLE_OPERATIONS)]
            queries.append(CloudwatchMetricAlarmMetricQuery(
                id="total", expression=f"SUM([{','.join(q.id for q in queries)}])", label=f"{metric} (all operations)",
                return_data=True))
            id_ = f"table_{metric.lower()}"
            self.alarms.append(CloudwatchMetricAlarm(
                self, id_, alarm_name=self._settings.name(id_.replace("_", "-")),
                alarm_description=f"table: {metric}", metric_query=queries, evaluation_periods=1,
                threshold=threshold, comparison_operator="GreaterThanThreshold", treat_missing_data=NO_DATA_IS_OK,
                alarm_actions=[self.topic.arn], ok_actions=[self.topic.arn]))

    def _queue_alarms(self) -> None:
        for name, queue in self._inputs.data.dead_letter_queues.items():
            self._alarm(f"dlq_{name.replace('-', '_')}_visible", f"{name} DLQ holds messages",
                        metric="ApproximateNumberOfMessagesVisible", namespace="AWS/SQS",
                        dimensions={"QueueName": queue.name}, statistic="Maximum", threshold=1,
                        comparison="GreaterThanOrEqualToThreshold")

    def _workflow_alarms(self) -> None:
        alarms = self._settings.alarms
        dims = {"StateMachineArn": self._inputs.app.workflow.state_machine.arn}
        self._alarm("workflow_failed", "workflow: failed executions", metric="ExecutionsFailed",
                    namespace="AWS/States", dimensions=dims, threshold=alarms.state_machine_failed)
        for metric in ("ExecutionsTimedOut", "ExecutionThrottled"):
            self._alarm(f"workflow_{metric.lower()}", f"workflow: {metric}", metric=metric, namespace="AWS/States",
                        dimensions=dims, threshold=1, comparison="GreaterThanOrEqualToThreshold")

    def _dashboard(self) -> dict[str, Any]:
        region = self._settings.region
        dims, names = self._api_dimensions()
        api_dims = [v for pair in dims.items() for v in pair]
        functions = [self._inputs.app.functions[s.name].function_name for s in FUNCTIONS]
        table = self._inputs.data.table.name
        queues = [self._inputs.data.dead_letter_queues[n].name for n in dlq_names()]
        machine = self._inputs.app.workflow.state_machine.arn

        def row(y: int, title: str, metrics: list[list[Any]], stat: str = "Sum") -> dict[str, Any]:
            return {"type": "metric", "x": 0, "y": y, "width": 24, "height": 6,
                    "properties": {"title": title, "region": region, "stat": stat, "period": PERIOD,
                                   "metrics": metrics}}

        return {"widgets": [
            row(0, "API", [["AWS/ApiGateway", "Count", *api_dims], [".", names["4xx"], *api_dims],
                           [".", names["5xx"], *api_dims]]),
            row(6, "Functions: errors", [["AWS/Lambda", "Errors", "FunctionName", f] for f in functions]),
            row(12, "Table", [["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", table],
                              [".", "ConsumedWriteCapacityUnits", "TableName", table]]),
            row(18, "Workflow", [["AWS/States", m, "StateMachineArn", machine]
                                 for m in ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed")]),
            row(24, "Dead-letter queues", [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q]
                                           for q in queues], stat="Maximum"),
        ]}


class ObservabilityStack(LayerStack):
    """`<workspace>-observability`."""

    def __init__(self, scope: Construct, settings: WorkspaceSettings, kms_key_arn: str, data: DataLayer,
                 app: AppLayer) -> None:
        super().__init__(scope, settings, "observability")
        self.observability = Observability(self, "observability",
                                           ObservabilityInputs(settings, kms_key_arn, data, app))
        region = settings.region
        TerraformOutput(self, "alert_topic_arn", value=self.observability.topic.arn)
        TerraformOutput(self, "dashboard_url", value=(
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#dashboards:name={settings.name('overview')}"))
        TerraformOutput(self, "api_url", value=app.api.invoke_url)
        if isinstance(app.api, RestApi):
            TerraformOutput(self, "api_key_id", value=app.api.api_key.id)
