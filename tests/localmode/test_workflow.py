"""The job workflow really runs in the emulator: Step Functions tasks call the handlers in-process."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import requests

from localmode.runtime import LocalApi
from tests.localmode.conftest import Deployment


def submit(api: LocalApi, payload: dict[str, Any]) -> str:
    response = requests.post(f"{api.url}/jobs", json={"payload": payload}, headers=api.headers,
                             timeout=30)
    assert response.status_code == 202, response.text
    return str(response.json()["job_id"])


def finished_job(api: LocalApi, job_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = requests.get(f"{api.url}/jobs/{job_id}", headers=api.headers, timeout=30).json()
        if job["status"] in ("COMPLETED", "FAILED") or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.1)


def execution(deployment: Deployment, job_id: str) -> tuple[str, list[dict[str, Any]]]:
    sfn = deployment.client("stepfunctions")
    arn = deployment.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job_id}"
    deadline = time.monotonic() + 10
    status = "RUNNING"
    while status == "RUNNING" and time.monotonic() < deadline:
        status = sfn.describe_execution(executionArn=arn)["status"]
        time.sleep(0.05)
    return status, sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]


def entered_states(events: list[dict[str, Any]]) -> list[str]:
    return [event["stateEnteredEventDetails"]["name"] for event in events if "stateEnteredEventDetails" in event]


def test_a_valid_job_runs_validate_process_notify_to_completion(local_api: LocalApi, deployment: Deployment) -> None:
    job_id = submit(local_api, {"items": [1, 2, 3.5], "operation": "sum"})

    job = finished_job(local_api, job_id)

    assert job["status"] == "COMPLETED"
    assert job["result"] == {"operation": "sum", "value": 6.5, "count": 3}
    status, events = execution(deployment, job_id)
    assert status == "SUCCEEDED"
    assert entered_states(events) == ["ValidateInput", "ProcessData", "SendNotification", "Succeeded"]
    assert deployment.published("JobCompleted", lambda event: event["job_id"] == job_id) is not None


def test_an_invalid_payload_is_caught_by_name_and_marks_the_job_failed(local_api: LocalApi,
                                                                        deployment: Deployment) -> None:
    job_id = submit(local_api, {"items": []})

    job = finished_job(local_api, job_id)

    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "JobValidationError"
    assert "items" in job["error"]["message"]
    status, events = execution(deployment, job_id)
    assert status == "FAILED"
    assert entered_states(events) == ["ValidateInput", "MarkFailed", "Failed"]
    failures = [event["lambdaFunctionFailedEventDetails"] for event in events
                if "lambdaFunctionFailedEventDetails" in event]
    assert [failure["error"] for failure in failures] == ["JobValidationError"]  # not retried


def test_a_retry_matches_the_exception_class_name(probe_package: str, deployment: Deployment, tmp_path: Path) -> None:
    task = deployment.create_function("retried-task", "lm_probe.task.lambda_handler",
                                      {"PROBE_LOG": str(tmp_path / "attempts.log")})
    definition = {"StartAt": "Task", "States": {
        "Task": {"Type": "Task", "Resource": task, "End": True,
                 "Retry": [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 1, "MaxAttempts": 2}]}}}
    sfn = deployment.client("stepfunctions")
    machine = sfn.create_state_machine(name="retried", roleArn=deployment.role_arn,
                                       definition=json.dumps(definition))["stateMachineArn"]

    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"job": 1}))["executionArn"]
    deadline = time.monotonic() + 15
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)

    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"job": 1, "attempts": 2}
