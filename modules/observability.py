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

# treat_missing_data per alarm family, each with its reason. CloudWatch publishes these
# metrics only when something happens (an invocation, a request, a record, an execution),
# so "no data" means "nothing happened" for every family; what differs is why that is
# not an incident.
TREAT_MISSING_DATA: dict[str, str] = {
    # Errors/throttles are only reported with invocations: no data means none failed.
    "function_errors": "notBreaching",
    "function_throttles": "notBreaching",
    # No invocations means no duration to be slow with; idle functions are normal here.
    "function_duration": "notBreaching",
    # No requests means no server errors and no client-error rate.
    "api_5xx": "notBreaching",
    "api_4xx_rate": "notBreaching",
    # No requests means no latency; a quiet API is not an incident.
    "api_latency": "notBreaching",
    # DynamoDB reports throttles and system errors only when they happen.
    "table_errors": "notBreaching",
    # SQS keeps reporting a queue while it holds messages, so a missing datapoint means
    # an empty, inactive dead-letter queue.
    "dlq_visible": "notBreaching",
    # Step Functions reports failed/timed-out/throttled executions only when they happen.
    "workflow_executions": "notBreaching",
    # IteratorAge exists only while the consumer is invoked with records: no records, no lag.
    "stream_iterator_age": "notBreaching",
}


@dataclass(frozen=True)
class AlarmTargets:
    """What the alarms watch, as the names/ARNs their metric dimensions carry."""

    functions: dict[str, str]  # catalog name -> Lambda function name
    api_dimensions: dict[str, str]
    api_metrics: dict[str, str]  # "5xx" | "4xx" | "latency" -> metric name of this API kind
    table_name: str
    queues: dict[str, str]  # DLQ short name -> queue name
    state_machine_arn: str


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm, before it becomes a resource; every number comes from AlarmSettings."""

    id: str
    description: str
    family: str  # key of TREAT_MISSING_DATA
    metric: str
    namespace: str
    dimensions: dict[str, str]
    threshold: float
    periods: int
    statistic: str = "Sum"
    comparison: str = "GreaterThanThreshold"
    # When set, the alarm sums the metric over these values of the `Operation` dimension.
    operations: tuple[str, ...] = ()

    @property
    def treat_missing_data(self) -> str:
        return TREAT_MISSING_DATA[self.family]


def _function_alarm_specs(settings: WorkspaceSettings, targets: AlarmTargets) -> list[AlarmSpec]:
    alarms, app = settings.alarms, settings.app
    specs: list[AlarmSpec] = []
    for spec in FUNCTIONS:
        name = targets.functions[spec.name]
        sizing = app.sizing(spec.name)  # the function's own timeout, overrides included
        key = spec.name.replace("-", "_")
        dims = {"FunctionName": name}
        limit_ms = sizing.timeout_seconds * 1000 * alarms.duration_p99_fraction_of_timeout
        specs += [
            AlarmSpec(f"{key}_errors", f"{name}: errors", "function_errors", "Errors", "AWS/Lambda", dims,
                      alarms.function_errors, alarms.function_errors_periods),
            AlarmSpec(f"{key}_throttles", f"{name}: throttles", "function_throttles", "Throttles", "AWS/Lambda",
                      dims, alarms.function_throttles, alarms.function_throttles_periods),
            AlarmSpec(f"{key}_duration_p99", f"{name}: p99 duration above {limit_ms:.0f} ms", "function_duration",
                      "Duration", "AWS/Lambda", dims, limit_ms, alarms.duration_p99_periods, statistic="p99"),
        ]
    consumer = targets.functions["stream-consumer"]
    specs.append(AlarmSpec("stream_iterator_age", f"{consumer}: stream records waiting too long",
                           "stream_iterator_age", "IteratorAge", "AWS/Lambda", {"FunctionName": consumer},
                           alarms.stream_iterator_age_ms, alarms.stream_iterator_age_periods, statistic="Maximum"))
    return specs


def _api_alarm_specs(settings: WorkspaceSettings, targets: AlarmTargets) -> list[AlarmSpec]:
    alarms, dims, names = settings.alarms, targets.api_dimensions, targets.api_metrics
    return [
        AlarmSpec("api_5xx", "API: server errors", "api_5xx", names["5xx"], "AWS/ApiGateway", dims,
                  alarms.api_5xx, alarms.api_5xx_periods),
        # The Average of the 4XX metric is the share of requests answered 4xx.
        AlarmSpec("api_4xx_rate", "API: client error rate", "api_4xx_rate", names["4xx"], "AWS/ApiGateway", dims,
                  alarms.api_4xx_rate, alarms.api_4xx_periods, statistic="Average"),
        AlarmSpec("api_latency_p99", "API: p99 latency", "api_latency", names["latency"], "AWS/ApiGateway", dims,
                  alarms.api_latency_p99_ms, alarms.api_latency_p99_periods, statistic="p99"),
    ]


def _state_alarm_specs(settings: WorkspaceSettings, targets: AlarmTargets) -> list[AlarmSpec]:
    alarms = settings.alarms
    table = {"TableName": targets.table_name}
    specs = [
        AlarmSpec("table_throttledrequests", "table: ThrottledRequests", "table_errors", "ThrottledRequests",
                  "AWS/DynamoDB", table, alarms.table_throttled_requests, alarms.table_throttled_requests_periods,
                  operations=TABLE_OPERATIONS),
        AlarmSpec("table_systemerrors", "table: SystemErrors", "table_errors", "SystemErrors", "AWS/DynamoDB",
                  table, alarms.table_system_errors, alarms.table_system_errors_periods, operations=TABLE_OPERATIONS),
    ]
    specs += [AlarmSpec(f"dlq_{name.replace('-', '_')}_visible", f"{name} DLQ holds messages", "dlq_visible",
                        "ApproximateNumberOfMessagesVisible", "AWS/SQS", {"QueueName": queue},
                        alarms.dlq_visible_messages, alarms.dlq_visible_periods, statistic="Maximum",
                        comparison="GreaterThanOrEqualToThreshold")
              for name, queue in targets.queues.items()]
    machine = {"StateMachineArn": targets.state_machine_arn}
    specs += [
        AlarmSpec("workflow_failed", "workflow: failed executions", "workflow_executions", "ExecutionsFailed",
                  "AWS/States", machine, alarms.state_machine_failed, alarms.state_machine_failed_periods),
        AlarmSpec("workflow_executionstimedout", "workflow: ExecutionsTimedOut", "workflow_executions",
                  "ExecutionsTimedOut", "AWS/States", machine, alarms.state_machine_timed_out,
                  alarms.state_machine_timed_out_periods, comparison="GreaterThanOrEqualToThreshold"),
        AlarmSpec("workflow_executionthrottled", "workflow: ExecutionThrottled", "workflow_executions",
                  "ExecutionThrottled", "AWS/States", machine, alarms.state_machine_throttled,
                  alarms.state_machine_throttled_periods, comparison="GreaterThanOrEqualToThreshold"),
    ]
    return specs


def alarm_specs(settings: WorkspaceSettings, targets: AlarmTargets) -> list[AlarmSpec]:
    """Every alarm of a workspace: per function, the stream, the API, the table, each DLQ
    and the workflow, with thresholds and evaluation periods from `settings.alarms`."""
    return [*_function_alarm_specs(settings, targets), *_api_alarm_specs(settings, targets),
            *_state_alarm_specs(settings, targets)]


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
        self.alarms = [self._alarm(spec) for spec in alarm_specs(self._settings, self._targets())]
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

    def _targets(self) -> AlarmTargets:
        app, data = self._inputs.app, self._inputs.data
        dims, names = self._api_dimensions()
        return AlarmTargets(
            functions={spec.name: app.functions[spec.name].function_name for spec in FUNCTIONS},
            api_dimensions=dims, api_metrics=names, table_name=data.table.name,
            queues={name: queue.name for name, queue in data.dead_letter_queues.items()},
            state_machine_arn=app.workflow.state_machine.arn)

    def _alarm(self, spec: AlarmSpec) -> CloudwatchMetricAlarm:
        percentile = spec.statistic.startswith("p")
        metric: dict[str, Any]
        if spec.operations:
            queries = [CloudwatchMetricAlarmMetricQuery(
                id=f"m{i}", return_data=False, metric=CloudwatchMetricAlarmMetricQueryMetric(
                    namespace=spec.namespace, metric_name=spec.metric, period=PERIOD, stat=spec.statistic,
                    dimensions={**spec.dimensions, "Operation": operation}))
                for i, operation in enumerate(spec.operations)]
            queries.append(CloudwatchMetricAlarmMetricQuery(
                id="total", expression=f"SUM([{','.join(q.id for q in queries)}])",
                label=f"{spec.metric} (all operations)", return_data=True))
            metric = {"metric_query": queries}
        else:
            metric = {"namespace": spec.namespace, "metric_name": spec.metric, "dimensions": spec.dimensions,
                      "period": PERIOD, "statistic": None if percentile else spec.statistic,
                      "extended_statistic": spec.statistic if percentile else None}
        return CloudwatchMetricAlarm(
            self, spec.id, alarm_name=self._settings.name(spec.id.replace("_", "-")),
            alarm_description=spec.description, evaluation_periods=spec.periods, threshold=spec.threshold,
            comparison_operator=spec.comparison, treat_missing_data=spec.treat_missing_data,
            alarm_actions=[self.topic.arn], ok_actions=[self.topic.arn], **metric)

    def _api_dimensions(self) -> tuple[dict[str, str], dict[str, str]]:
        api = self._inputs.app.api
        if isinstance(api, RestApi):
            dims = {"ApiName": api.api.name, "Stage": self._settings.workspace}
            return dims, {"5xx": "5XXError", "4xx": "4XXError", "latency": "Latency"}
        dims = {"ApiId": api.api.id, "Stage": "$default"}
        return dims, {"5xx": "5xx", "4xx": "4xx", "latency": "Latency"}

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
