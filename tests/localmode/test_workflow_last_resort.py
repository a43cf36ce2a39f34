"""The product's own workflow definition in the emulator: when MarkFailed itself fails (throttled,
down), RecordFailure's direct DynamoDB update still ends the job FAILED."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from handlers.shared.aws.job_records import job_to_attributes
from handlers.shared.models import Job
from modules.workflow import RECORD_FAILURE_CODE, definition
from tests.localmode.conftest import TABLE, Deployment

NOW = "2026-01-01T00:00:00.000000Z"


def run(deployment: Deployment, machine: str, job_id: str) -> tuple[str, list[str]]:
    sfn = deployment.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine, name=job_id,
                              input=json.dumps({"job_id": job_id, "payload": {"items": []}}))["executionArn"]
    deadline = time.monotonic() + 20
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return described["status"], [e["stateEnteredEventDetails"]["name"] for e in events
                                 if "stateEnteredEventDetails" in e]


def job(deployment: Deployment, job_id: str) -> dict[str, Any]:
    item = deployment.client("dynamodb").get_item(TableName=TABLE, Key={"pk": {"S": f"JOB#{job_id}"},
                                                                         "sk": {"S": "JOB"}})
    return dict(item["Item"])


def test_a_failing_mark_failed_still_ends_the_job_failed(probe_package: str, deployment: Deployment,
                                                         tmp_path: Path) -> None:
    broken = deployment.create_function("mark-failed-down", "lm_probe.stream.lambda_handler",
                                        {"PROBE_LOG": str(tmp_path / "down.log"), "PROBE_MODE": "down"})
    tasks = {**deployment.aliases, "mark-failed": broken}
    document = definition(tasks, dict.fromkeys(tasks, 30), TABLE, partition="aws")
    sfn = deployment.client("stepfunctions")
    machine = sfn.create_state_machine(name="jobs-last-resort", roleArn=deployment.role_arn,
                                       definition=json.dumps(document))["stateMachineArn"]
    pending, finished = str(uuid.uuid4()), str(uuid.uuid4())
    dynamodb = deployment.client("dynamodb")
    dynamodb.put_item(TableName=TABLE, Item=job_to_attributes(
        Job(job_id=pending, status="PENDING", payload={"items": []}, created_at=NOW, updated_at=NOW)))
    dynamodb.put_item(TableName=TABLE, Item=job_to_attributes(
        Job(job_id=finished, status="COMPLETED", payload={"items": []}, result={"value": 1}, created_at=NOW,
            updated_at=NOW)))

    status, states = run(deployment, machine, pending)

    assert (status, states) == ("FAILED", ["ValidateInput", "MarkFailed", "RecordFailure", "Failed"])
    record = job(deployment, pending)
    assert record["status"] == {"S": "FAILED"}
    assert record["error"]["M"]["code"] == {"S": RECORD_FAILURE_CODE}
    # The update is conditional: a finished job is never overwritten.
    status, states = run(deployment, machine, finished)
    assert states[-2:] == ["RecordFailure", "Failed"]
    assert job(deployment, finished)["status"] == {"S": "COMPLETED"}
