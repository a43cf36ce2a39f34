"""Contract rules for what logs and archives hold in the workspaces with client data
(staging, prod), and whether the archive can be read by the tools it is queried with.

Pure functions over the synthesized stacks (`{stack name: cdk.tf.json}`), one problem string
per broken setting; the AWS behaviour each relies on is cited next to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Stacks = Mapping[str, dict[str, Any]]

CLIENT_DATA_WORKSPACES = ("staging", "prod")  # WorkspaceSettings.is_production_like
# The processors that turn CloudWatch Logs' compressed envelopes into one line per event,
# in the order Firehose must run them (Amazon Data Firehose developer guide, "Decompress
# CloudWatch Logs", "Message extraction"; Processor: AppendDelimiterToRecord).
READABLE_PIPELINE = (
    ("Decompression", {"CompressionFormat": "GZIP"}),
    ("CloudWatchLogProcessing", {"DataMessageExtraction": "true"}),
    ("AppendDelimiterToRecord", {}),
)


def _resources(stack: Mapping[str, Any], rtype: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from stack.get("resource", {}).get(rtype, {}).items()


def _client_data_stacks(stacks: Stacks) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from ((n, s) for n, s in sorted(stacks.items()) if n.split("-", 1)[0] in CLIENT_DATA_WORKSPACES)


def client_data_in_logs(stacks: Stacks) -> list[str]:
    """Where clients' data lives, no log records it: the workflow logs no execution data
    (each state's input and output is the job's payload; AWS Step Functions "Logging using
    CloudWatch Logs": includeExecutionData), the REST stage traces no request or response
    data (API Gateway "Set up CloudWatch logging for REST APIs": data tracing logs full
    requests and responses and "is not recommended for production APIs"), traced functions do
    not record their handlers' return values in X-Ray (Powertools for AWS Lambda, Tracer:
    POWERTOOLS_TRACER_CAPTURE_RESPONSE, "useful when returning sensitive information"), and
    WAF logs redact the headers that carry credentials."""
    problems = []
    for name, stack in _client_data_stacks(stacks):
        for logical, machine in _resources(stack, "aws_sfn_state_machine"):
            if (machine.get("logging_configuration") or {}).get("include_execution_data"):
                problems.append(f"{name}: aws_sfn_state_machine.{logical} logs execution data (the jobs' payloads)")
        for logical, settings in _resources(stack, "aws_api_gateway_method_settings"):
            if (settings.get("settings") or {}).get("data_trace_enabled"):
                problems.append(f"{name}: aws_api_gateway_method_settings.{logical} traces full requests and "
                                "responses into the execution log")
        for logical, function in _resources(stack, "aws_lambda_function"):
            variables = (function.get("environment") or {}).get("variables") or {}
            traced = (function.get("tracing_config") or {}).get("mode") == "Active"
            if traced and str(variables.get("POWERTOOLS_TRACER_CAPTURE_RESPONSE", "true")).lower() != "false":
                problems.append(f"{name}: aws_lambda_function.{logical} records its handler's return value in X-Ray "
                                "traces (POWERTOOLS_TRACER_CAPTURE_RESPONSE)")
        for logical, logging in _resources(stack, "aws_wafv2_web_acl_logging_configuration"):
            fields = logging.get("redacted_fields") or []
            redacted = {f.get("single_header", {}).get("name", "").lower() for f in fields}
            for header in sorted({"x-api-key", "authorization"} - redacted):
                problems.append(f"{name}: aws_wafv2_web_acl_logging_configuration.{logical} logs the {header} header")
    return problems


def unreadable_log_archives(stacks: Stacks) -> list[str]:
    """Every Firehose stream a CloudWatch Logs subscription feeds writes one JSON event per
    line: decompressed, message extracted, newline-delimited. CloudWatch Logs delivers gzip
    envelopes of many events ("Subscription filters with Amazon Data Firehose": the data is
    already compressed); stored as they come, Athena and jq read nothing but binary."""
    problems = []
    for name, stack in sorted(stacks.items()):
        fed = {str(f["destination_arn"]) for _l, f in _resources(stack, "aws_cloudwatch_log_subscription_filter")}
        for logical, stream in _resources(stack, "aws_kinesis_firehose_delivery_stream"):
            if f"${{aws_kinesis_firehose_delivery_stream.{logical}.arn}}" not in fed:
                continue
            processing = (stream.get("extended_s3_configuration") or {}).get("processing_configuration") or {}
            found = tuple((p["type"], {x["parameter_name"]: x["parameter_value"] for x in p.get("parameters") or []})
                          for p in processing.get("processors") or []) if processing.get("enabled") else ()
            if found != READABLE_PIPELINE:
                problems.append(f"{name}: aws_kinesis_firehose_delivery_stream.{logical} stores CloudWatch Logs' "
                                "compressed envelopes, not one JSON event per line (processors "
                                f"{[t for t, _p in found] or 'none'}; wanted {[t for t, _p in READABLE_PIPELINE]})")
    return problems


RULES = (client_data_in_logs, unreadable_log_archives)
