"""Jobs API: submission starts the workflow; a failed start never leaves a PENDING job behind."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ConnectTimeoutError

from tests.handlers.helpers import STATE_MACHINE_ARN, TABLE_NAME, client_error, count_records, stored_item


def _executions(state_machine: Any) -> list[dict[str, Any]]:
    listed = state_machine.list_executions(stateMachineArn=STATE_MACHINE_ARN)["executions"]
    return [state_machine.describe_execution(executionArn=e["executionArn"]) for e in listed]


def test_submit_stores_a_pending_job_and_starts_the_workflow(api: Any, table: Any, state_machine: Any) -> None:
    response = api("POST", "/jobs", body={"payload": {"items": [1, 2, 3], "operation": "sum"}})

    assert response.status == 202
    job_id = response.body["job_id"]
    assert response.body == {"job_id": job_id, "status": "PENDING"}
    assert response.headers["Location"] == f"/jobs/{job_id}"
    record = stored_item(table, f"JOB#{job_id}", "JOB")
    assert record is not None and record["status"] == {"S": "PENDING"}
    assert json.loads(record["payload"]["S"]) == {"items": [1, 2, 3], "operation": "sum"}
    assert int(record["expires_at"]["N"]) > 0
    [execution] = _executions(state_machine)
    assert execution["name"] == job_id
    assert json.loads(execution["input"]) == {"job_id": job_id, "payload": {"items": [1, 2, 3], "operation": "sum"}}


def test_get_job_shows_status_and_timestamps_only_when_set(api: Any) -> None:
    job_id = api("POST", "/jobs", body={"payload": {"items": [1]}}).body["job_id"]

    response = api("GET", f"/jobs/{job_id}")

    assert response.status == 200
    assert set(response.body) == {"job_id", "status", "created_at", "updated_at"}
    assert response.body["status"] == "PENDING"


def test_get_unknown_job_is_404(api: Any) -> None:
    response = api("GET", f"/jobs/{uuid.uuid4()}")

    assert response.status == 404
    assert response.body["error"]["code"] == "job_not_found"


def test_malformed_job_id_is_400(api: Any) -> None:
    response = api("GET", "/jobs/JOB%23123")

    assert response.status == 400
    assert response.body["error"]["code"] == "invalid_id"


def test_payload_over_64_kb_is_413_and_nothing_is_stored(api: Any, table: Any, state_machine: Any) -> None:
    payload = {"blob": "x" * (64 * 1024)}

    response = api("POST", "/jobs", body={"payload": payload})

    assert response.status == 413
    assert response.body["error"]["code"] == "payload_too_large"
    assert "65536" in response.body["error"]["message"]
    assert count_records(table, "JOB#") == 0
    assert _executions(state_machine) == []


def test_payload_of_exactly_64_kb_is_accepted(api: Any) -> None:
    overhead = len(json.dumps({"blob": ""}, separators=(",", ":")))
    payload = {"blob": "x" * (64 * 1024 - overhead)}

    assert api("POST", "/jobs", body={"payload": payload}).status == 202


@pytest.mark.parametrize("payload", [[1, 2], "text", 3, None])
def test_payload_must_be_an_object(api: Any, payload: Any) -> None:
    response = api("POST", "/jobs", body={"payload": payload})

    assert response.status == 422
    assert response.body["error"]["code"] == "validation_error"
    assert [d["field"] for d in response.body["error"]["details"]] == ["body.payload"]


@pytest.mark.parametrize(
    "error",
    [
        client_error("ThrottlingException"),
        client_error("ServiceUnavailable", 503),
        ConnectTimeoutError(endpoint_url="https://states.us-east-1.amazonaws.com"),
        client_error("AccessDeniedException"),
    ],
)
def test_failed_start_marks_the_job_failed_and_answers_503(
    api: Any, table: Any, inject_fault: Any, error: Exception
) -> None:
    inject_fault("stepfunctions", "StartExecution", error)

    response = api("POST", "/jobs", body={"payload": {"items": [1]}})

    assert response.status == 503
    assert response.body["error"]["code"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    [record] = table.scan(TableName=TABLE_NAME)["Items"]
    assert record["status"] == {"S": "FAILED"}
    assert record["error"]["M"]["code"] == {"S": "WorkflowStartFailed"}
    job = api("GET", f"/jobs/{record['job_id']['S']}").body
    assert job["status"] == "FAILED"
    assert job["error"] == {"code": "WorkflowStartFailed", "message": "The job could not be started; submit it again"}


def test_failed_start_with_the_table_down_too_still_answers_503(api: Any, table: Any, inject_fault: Any) -> None:
    inject_fault("stepfunctions", "StartExecution", client_error("ThrottlingException"))
    inject_fault("dynamodb", "UpdateItem", client_error("InternalServerError", 500))

    response = api("POST", "/jobs", body={"payload": {"items": [1]}})

    assert response.status == 503
    assert response.body["error"]["code"] == "service_unavailable"
