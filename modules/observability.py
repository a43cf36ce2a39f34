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

from modules.app import AppOutputs
from modules.base_stack import LayerStack
from modules.catalog import FUNCTIONS, FunctionSpec, StreamTrigger, dlq_names, triggered_by
from modules.config import ALARM_PERIOD_SECONDS, AlarmRule, WorkspaceSettings
from modules.data import DataOutputs
from modules.iam import deny_insecure_transport, policy_document
from modules.rollout import API_5XX_ALARM_ID, alarm_name, function_alarm_id

PERIOD = ALARM_PERIOD_SECONDS  # every alarm evaluates 5-minute periods
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
    # Lambda reports destination delivery failures only when one happens.
    "stream_destination": "notBreaching",
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

    @classmethod
    def of(cls, id_: str, description: str, family: str, metric: str, namespace: str,
           dimensions: dict[str, str], rule: AlarmRule, **options: Any) -> AlarmSpec:
        """An alarm whose threshold and periods are one rule of AlarmSettings."""
        return cls(id_, description, family, metric, namespace, dimensions, rule.threshold, rule.periods, **options)
    comparison: str = "GreaterThanThreshold"
    # When set, the alarm sums the metric over these values of the `Operation` dimension.
    operations: tuple[str, ...] = ()

    @property
    def treat_missing_data(self) -> str:
        return TREAT_MISSING_DATA[self.family]


def _function_alarm_specs(settings: WorkspaceSettings, targets: AlarmTargets,
                          functions: tuple[FunctionSpec, ...]) -> list[AlarmSpec]:
    alarms, app = settings.alarms, settings.app
    specs: list[AlarmSpec] = []
    for spec in functions:
        name = targets.functions[spec.name]
        sizing = app.sizing(spec.name, functions)  # the function's own timeout, overrides included
        key = spec.construct_id
        dims = {"FunctionName": name}
        duration = alarms.function_duration_p99
        limit_ms = sizing.timeout_seconds * 1000 * duration.threshold
        specs += [
            AlarmSpec.of(function_alarm_id(spec, "function_errors"), f"{name}: errors", "function_errors", "Errors",
                         "AWS/Lambda", dims, alarms.function_errors),
            AlarmSpec.of(f"{key}_throttles", f"{name}: throttles", "function_throttles", "Throttles", "AWS/Lambda",
                         dims, alarms.function_throttles),
            AlarmSpec(function_alarm_id(spec, "function_duration_p99"), f"{name}: p99 duration above {limit_ms:.0f} ms",
                      "function_duration", "Duration", "AWS/Lambda", dims, limit_ms, duration.periods, statistic="p99"),
        ]
    for spec in triggered_by(StreamTrigger, functions):
        assert isinstance(spec.trigger, StreamTrigger)
        consumer = targets.functions[spec.name]
        specs.append(AlarmSpec.of(f"{spec.trigger.id_prefix}_iterator_age",
                                  f"{consumer}: stream records waiting too long", "stream_iterator_age",
                                  "IteratorAge", "AWS/Lambda", {"FunctionName": consumer},
                                  alarms.stream_iterator_age_ms, statistic="Maximum"))
        # Lambda counts a failed write to an on-failure destination per function; for the
        # stream mapping that batch is dropped (AWS Lambda guide, "Types of metrics for Lambda
        # functions": DestinationDeliveryFailures).
        specs.append(AlarmSpec.of(f"{spec.trigger.id_prefix}_destination_delivery_failures",
                                  f"{consumer}: failed stream batch not written to its S3 destination",
                                  "stream_destination", "DestinationDeliveryFailures", "AWS/Lambda",
                                  {"FunctionName": consumer}, alarms.stream_destination_delivery_failures,
                                  comparison="GreaterThanOrEqualToThreshold"))
    return specs


def _api_alarm_specs(settings: WorkspaceSettings, targets: AlarmTargets) -> list[AlarmSpec]:
    alarms, dims, names = settings.alarms, targets.api_dimensions, targets.api_metrics
    return [
        AlarmSpec.of(API_5XX_ALARM_ID, "API: server errors", "api_5xx", names["5xx"], "AWS/ApiGateway", dims,
                     alarms.api_5xx),
        # The Average of the 4XX metric is the share of requests answered 4xx.
        AlarmSpec.of("api_4xx_rate", "API: client error rate", "api_4xx_rate", names["4xx"], "AWS/ApiGateway",
                     dims, alarms.api_4xx_rate, statistic="Average"),
        AlarmSpec.of("api_latency_p99", "API: p99 latency", "api_latency", names["latency"], "AWS/ApiGateway",
                     dims, alarms.api_latency_p99_ms, statistic="p99"),
    ]


def _state_alarm_specs(settings: WorkspaceSettings, targets: AlarmTargets) -> list[AlarmSpec]:
    alarms = settings.alarms
    table = {"TableName": targets.table_name}
    at_least = {"comparison": "GreaterThanOrEqualToThreshold"}
    specs = [
        AlarmSpec.of("table_throttledrequests", "table: ThrottledRequests", "table_errors", "ThrottledRequests",
                     "AWS/DynamoDB", table, alarms.table_throttled_requests, operations=TABLE_OPERATIONS),
        AlarmSpec.of("table_systemerrors", "table: SystemErrors", "table_errors", "SystemErrors", "AWS/DynamoDB",
                     table, alarms.table_system_errors, operations=TABLE_OPERATIONS),
    ]
    specs += [AlarmSpec.of(f"dlq_{name.replace('-', '_')}_visible", f"{name} DLQ holds messages", "dlq_visible",
                           "ApproximateNumberOfMessagesVisible", "AWS/SQS", {"QueueName": queue},
                           alarms.dlq_visible_messages, statistic="Maximum", **at_least)
              for name, queue in targets.queues.items()]
    machine = {"StateMachineArn": targets.state_machine_arn}
    specs += [
        AlarmSpec.of("workflow_failed", "workflow: failed executions", "workflow_executions", "ExecutionsFailed",
                     "AWS/States", machine, alarms.state_machine_failed),
        AlarmSpec.of("workflow_executionstimedout", "workflow: ExecutionsTimedOut", "workflow_executions",
                     "ExecutionsTimedOut", "AWS/States", machine, alarms.state_machine_timed_out, **at_least),
        AlarmSpec.of("workflow_executionthrottled", "workflow: ExecutionThrottled", "workflow_executions",
                     "ExecutionThrottled", "AWS/States", machine, alarms.state_machine_throttled, **at_least),
    ]
    return specs


def alarm_specs(settings: WorkspaceSettings, targets: AlarmTargets,
                functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> list[AlarmSpec]:
    """Every alarm of a workspace: per function, per stream consumer, the API, the table,
    each DLQ and the workflow, with thresholds and evaluation periods from `settings.alarms`."""
    return [*_function_alarm_specs(settings, targets, functions), *_api_alarm_specs(settings, targets),
            *_state_alarm_specs(settings, targets)]


@dataclass(frozen=True)
class ObservabilityInputs:
    settings: WorkspaceSettings
    kms_key_arn: str
    data: DataOutputs
    app: AppOutputs
    functions: tuple[FunctionSpec, ...] = FUNCTIONS


class Observability(Construct):
    def __init__(self, scope: Construct, id_: str, inputs: ObservabilityInputs) -> None:
        super().__init__(scope, id_)
        self._inputs = inputs
        self._settings = inputs.settings
        self.topic = self._build_topic()
        self.alarms = [self._alarm(spec)
                       for spec in alarm_specs(self._settings, self._targets(), inputs.functions)]
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
        return AlarmTargets(
            functions=app.function_names, api_dimensions=app.api.metric_dimensions,
            api_metrics=app.api.metric_names, table_name=data.table_name,
            queues=data.dead_letter_queue_names, state_machine_arn=app.state_machine_arn)

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
            self, spec.id, alarm_name=alarm_name(self._settings, spec.id),
            alarm_description=spec.description, evaluation_periods=spec.periods, threshold=spec.threshold,
            comparison_operator=spec.comparison, treat_missing_data=spec.treat_missing_data,
            alarm_actions=[self.topic.arn], ok_actions=[self.topic.arn], **metric)

    def _dashboard(self) -> dict[str, Any]:
        region, app, data = self._settings.region, self._inputs.app, self._inputs.data
        names = app.api.metric_names
        api_dims = [v for pair in app.api.metric_dimensions.items() for v in pair]
        functions = [app.function_names[s.name] for s in self._inputs.functions]
        table = data.table_name
        queues = [data.dead_letter_queue_names[n] for n in dlq_names(self._inputs.functions)]
        machine = app.state_machine_arn

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

    def __init__(self, scope: Construct, settings: WorkspaceSettings, kms_key_arn: str, data: DataOutputs,
                 app: AppOutputs, functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> None:
        super().__init__(scope, settings, "observability")
        observability = Observability(self, "observability",
                                      ObservabilityInputs(settings, kms_key_arn, data, app, functions))
        region = settings.region
        TerraformOutput(self, "alert_topic_arn",
                        description="SNS topic the alarms notify (e-mail subscriptions from ALERT_EMAILS)",
                        value=observability.topic.arn)
        TerraformOutput(self, "dashboard_url", description="CloudWatch dashboard of the workspace", value=(
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#dashboards:name={settings.name('overview')}"))
        TerraformOutput(self, "api_url",
                        description="Invoke URL of the API stage (the last layer's outputs sum up the workspace)",
                        value=app.api.url)
        if app.api.key_id is not None:
            TerraformOutput(self, "api_key_id", description="Id of the first client's API key (as the app layer's)",
                            value=app.api.key_id)
