"""What logs and archives hold, and whether the archive can be read
(tests/infra/contract/logs_rules.py): each rule names the problem on a deliberately broken
copy (tests/infra/test_contract_stacks.py runs it on the real synth of every workspace)."""

from __future__ import annotations

from tests.infra.contract import logs_rules
from tests.infra.synthesized import copied_stacks


def test_the_rule_reports_payloads_and_credentials_in_prod_logs(synth):
    # Given prod as it was: the workflow logging execution data; and WAF logs keeping the API key
    stacks = copied_stacks(synth)
    [(machine_id, machine)] = stacks["prod-app"]["resource"]["aws_sfn_state_machine"].items()
    machine["logging_configuration"]["include_execution_data"] = True
    [(waf_id, waf)] = stacks["prod-app"]["resource"]["aws_wafv2_web_acl_logging_configuration"].items()
    waf["redacted_fields"] = waf["redacted_fields"][1:]
    [settings] = stacks["staging-app"]["resource"]["aws_api_gateway_method_settings"].values()
    settings["settings"]["data_trace_enabled"] = True
    [(api_id, api)] = [(k, f) for k, f in stacks["prod-app"]["resource"]["aws_lambda_function"].items()
                       if f["function_name"].endswith("-api")]
    del api["environment"]["variables"]["POWERTOOLS_TRACER_CAPTURE_RESPONSE"]
    problems = logs_rules.client_data_in_logs(stacks)
    assert f"prod-app: aws_lambda_function.{api_id} records its handler's return value in X-Ray traces " \
           "(POWERTOOLS_TRACER_CAPTURE_RESPONSE)" in problems
    assert f"prod-app: aws_sfn_state_machine.{machine_id} logs execution data (the jobs' payloads)" in problems
    assert f"prod-app: aws_wafv2_web_acl_logging_configuration.{waf_id} logs the x-api-key header" in problems
    assert any(p.startswith("staging-app: aws_api_gateway_method_settings.") for p in problems)
    assert len(problems) == 4
    # dev keeps execution data: no client data there
    [dev_machine] = stacks["dev-app"]["resource"]["aws_sfn_state_machine"].values()
    assert dev_machine["logging_configuration"]["include_execution_data"] is True


def test_the_rule_reports_an_archive_of_compressed_envelopes(synth):
    # Given the access-log archive as it was: no processing, only the stream's own GZIP
    stacks = copied_stacks(synth)
    [(logical, stream)] = stacks["prod-app"]["resource"]["aws_kinesis_firehose_delivery_stream"].items()
    del stream["extended_s3_configuration"]["processing_configuration"]
    assert logs_rules.unreadable_log_archives(stacks) == [
        f"prod-app: aws_kinesis_firehose_delivery_stream.{logical} stores CloudWatch Logs' compressed envelopes, not "
        "one JSON event per line (processors none; wanted ['Decompression', 'CloudWatchLogProcessing', "
        "'AppendDelimiterToRecord'])"]
