"""A function is declared once: one catalog entry (plus its handler package) is all it takes
for the role, log group, alias, dead-letter queues, schedule, alarms, packaging and the IAM
proof to follow."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest

from modules.catalog import (
    DIGEST_ACTIONS,
    EVENTS_TOPIC,
    EVENTS_TOPIC_ARN,
    FUNCTIONS,
    PUBLISH_ACTIONS,
    TABLE,
    TABLE_NAME,
    AsyncInvocation,
    FunctionSpec,
    ScheduleTrigger,
    dlq_names,
)
from tests.infra.conftest import SETTINGS
from tests.infra.synthesized import Synthesized, fn
from tests.infra.test_iam import function_policy, required_grants, role_problems

# A second scheduled job. It reuses the scheduled package's entry point, so the test needs
# no handler code of its own; a real addition brings its package under handlers/.
REINDEX = FunctionSpec(
    "reindex", "scheduled", "handlers.scheduled.digest.lambda_handler", "task",
    ScheduleTrigger(rule="reindex-schedule", queue="reindex-schedule", description="Nightly reindex"),
    (TABLE_NAME, EVENTS_TOPIC_ARN), {TABLE: DIGEST_ACTIONS, EVENTS_TOPIC: PUBLISH_ACTIONS},
    asynchronous=AsyncInvocation(maximum_retry_attempts=1, maximum_event_age_in_seconds=600))
WORKSPACE = "dev"
PREFIX = f"serverless-app-{WORKSPACE}-"


@pytest.fixture(scope="module")
def extended(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    """`dev` synthesized with the catalog plus one entry, and nothing else changed."""
    from modules.app_builder import build_app

    outdir = tmp_path_factory.mktemp("catalog-plus-one")
    build_app([SETTINGS[WORKSPACE]], outdir=str(outdir), functions=(*FUNCTIONS, REINDEX)).synth()
    yield Synthesized(outdir)


def test_the_new_function_gets_role_log_group_alias_and_sizing(extended):
    function = fn(extended, WORKSPACE, "reindex")
    assert function["function_name"] == f"{PREFIX}reindex"
    assert function["handler"] == REINDEX.handler
    sizing = SETTINGS[WORKSPACE].app.task_function
    assert (function["memory_size"], function["timeout"]) == (sizing.memory_mb, sizing.timeout_seconds)
    assert fn(extended, WORKSPACE, "reindex", "aws_iam_role", "role")["name"] == f"{PREFIX}reindex-role"
    log_group = fn(extended, WORKSPACE, "reindex", "aws_cloudwatch_log_group", "log_group")
    assert log_group["name"] == f"/aws/lambda/{PREFIX}reindex"
    assert fn(extended, WORKSPACE, "reindex", "aws_lambda_alias", "alias")["name"] == "live"
    async_config = fn(extended, WORKSPACE, "reindex", "aws_lambda_function_event_invoke_config", "async_config")
    assert (async_config["maximum_retry_attempts"], async_config["maximum_event_age_in_seconds"]) == (1, 600)
    assert set(function["environment"]["variables"]) >= {TABLE_NAME, EVENTS_TOPIC_ARN}


def test_the_new_function_gets_its_queues_and_its_schedule(extended):
    queues = {q["name"] for q in extended.resources(f"{WORKSPACE}-data", "aws_sqs_queue").values()}
    assert {f"{PREFIX}reindex-dlq", f"{PREFIX}reindex-schedule-dlq"} <= queues
    assert len(queues) == len(dlq_names((*FUNCTIONS, REINDEX)))
    rules = {r["name"] for r in extended.resources(f"{WORKSPACE}-app", "aws_cloudwatch_event_rule").values()}
    assert rules == {f"{PREFIX}digest-schedule", f"{PREFIX}reindex-schedule", f"{PREFIX}job-execution-ended"}


def test_the_new_function_is_packaged_on_its_own(extended):
    obj = extended.resource(f"{WORKSPACE}-app", "aws_s3_object", "reindex_code_object")
    asset = extended.stacks_dir / f"{WORKSPACE}-app" / obj["source"]
    names = zipfile.ZipFile(io.BytesIO(asset.read_bytes())).namelist()
    assert "handlers/scheduled/digest.py" in names and not any(n.startswith("handlers/api/") for n in names)


def test_the_new_function_has_its_alarms(extended):
    alarms = {a["alarm_name"] for a in
              extended.resources(f"{WORKSPACE}-observability", "aws_cloudwatch_metric_alarm").values()}
    expected = {f"{PREFIX}reindex-{kind}" for kind in ("errors", "throttles", "duration-p99")}
    expected |= {f"{PREFIX}dlq-reindex-visible", f"{PREFIX}dlq-reindex-schedule-visible"}
    assert expected <= alarms


def test_the_iam_proof_covers_the_new_function(extended):
    required, labels = required_grants(extended, WORKSPACE, "reindex", REINDEX.handler)
    statements = function_policy(extended, WORKSPACE, "reindex")["Statement"]
    assert not role_problems(f"{WORKSPACE}/reindex", required, statements, labels)
    # and the proof notices when the catalog entry grants less than the code calls:
    fewer = [s for s in statements if s.get("Sid") != "HandlerEventsTopic"]
    assert any(p.startswith("missing: dev/reindex: sns:Publish") for p in
               role_problems(f"{WORKSPACE}/reindex", required, fewer, labels))
