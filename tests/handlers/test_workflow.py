"""Workflow tasks in-process against moto: the happy path, failures, and retries that must not apply twice."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.shared.exceptions import JobStateConflict, JobValidationError, TransientError
from tests.handlers.helpers import client_error, stored_item


@pytest.fixture
def tasks(load_handler: Any, table: Any, topic: Any) -> dict[str, Any]:
    """The four task modules, imported with the environment in place."""
    return {
        name: load_handler(f"handlers.workflow.{name}") for name in ("validate", "process", "notify", "mark_failed")
    }


@pytest.fixture
def submit(api: Any) -> Any:
    """Submit a job through the API and return the execution input it started the workflow with."""

    def _submit(payload: dict[str, Any]) -> dict[str, Any]:
        response = api("POST", "/jobs", body={"payload": payload})
        assert response.status == 202
        return {"job_id": response.body["job_id"], "payload": payload}

    return _submit


def _job(table: Any, job_id: str) -> dict[str, Any]:
    record = stored_item(table, f"JOB#{job_id}", "JOB")
    assert record is not None
    return record


def test_happy_path_ends_completed_with_the_result_and_one_event(
    tasks: Any, submit: Any, table: Any, topic: Any, api: Any, lambda_context: Any
) -> None:
    state = submit({"items": [2, 4, 9], "operation": "mean"})

    validated = tasks["validate"].lambda_handler(state, lambda_context)
    processed = tasks["process"].lambda_handler(validated, lambda_context)
    assert _job(table, state["job_id"])["status"] == {"S": "PROCESSING"}
    notified = tasks["notify"].lambda_handler(processed, lambda_context)

    assert validated == {**state, "operation": "mean"}
    assert processed["result"] == {"operation": "mean", "value": 5.0, "count": 3}
    assert notified["status"] == "COMPLETED" and notified["message_id"]
    job = api("GET", f"/jobs/{state['job_id']}").body
    assert job["status"] == "COMPLETED"
    assert job["result"] == {"operation": "mean", "value": 5.0, "count": 3}
    [event] = topic.messages()
    assert event["event_type"] == "JobCompleted"
    assert event["body"]["job_id"] == state["job_id"]
    assert event["body"]["result"]["value"] == 5.0


def test_invalid_payload_raises_job_validation_error_and_mark_failed_records_it(
    tasks: Any, submit: Any, api: Any, lambda_context: Any
) -> None:
    state = submit({"items": []})

    with pytest.raises(JobValidationError) as caught:
        tasks["validate"].lambda_handler(state, lambda_context)
    # What Step Functions' Catch (ResultPath $.error) hands to mark_failed.
    caught_error = {
        "Error": type(caught.value).__name__,
        "Cause": json.dumps({"errorMessage": str(caught.value), "errorType": "JobValidationError", "stackTrace": []}),
    }
    output = tasks["mark_failed"].lambda_handler({**state, "error": caught_error}, lambda_context)

    assert caught_error["Error"] == "JobValidationError"
    assert output == {"job_id": state["job_id"], "status": "FAILED"}
    job = api("GET", f"/jobs/{state['job_id']}").body
    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "JobValidationError"
    assert "payload.items" in job["error"]["message"]
    assert "result" not in job


def test_a_retried_process_does_not_apply_twice(tasks: Any, submit: Any, table: Any, lambda_context: Any) -> None:
    state = tasks["validate"].lambda_handler(submit({"items": [1, 2, 3]}), lambda_context)
    first = tasks["process"].lambda_handler(state, lambda_context)
    stored_after_first = _job(table, state["job_id"])

    # Step Functions retries when the first attempt's answer is lost (e.g. Lambda timeout after the write).
    second = tasks["process"].lambda_handler(state, lambda_context)

    assert second == first
    assert _job(table, state["job_id"]) == stored_after_first, "no second write: same result, same updated_at"


def test_a_retry_after_a_failed_result_write_finishes_the_job(
    tasks: Any, submit: Any, table: Any, lambda_context: Any, inject_fault: Any
) -> None:
    state = tasks["validate"].lambda_handler(submit({"items": [5]}), lambda_context)
    fault = inject_fault(
        "dynamodb",
        "UpdateItem",
        client_error("InternalServerError", 500),
        when=lambda params: "#result" in params["UpdateExpression"],
    )
    with pytest.raises(TransientError):
        tasks["process"].lambda_handler(state, lambda_context)
    interrupted = _job(table, state["job_id"])
    assert interrupted["status"] == {"S": "PROCESSING"} and "result" not in interrupted

    fault.clear()
    retried = tasks["process"].lambda_handler(state, lambda_context)

    assert retried["result"] == {"operation": "sum", "value": 5, "count": 1}
    assert json.loads(_job(table, state["job_id"])["result"]["S"]) == retried["result"]


def test_process_raises_transient_error_for_retry(
    tasks: Any, submit: Any, table: Any, lambda_context: Any, inject_fault: Any
) -> None:
    state = tasks["validate"].lambda_handler(submit({"items": [5]}), lambda_context)
    inject_fault("dynamodb", "UpdateItem", client_error("ProvisionedThroughputExceededException"))

    with pytest.raises(TransientError) as caught:
        tasks["process"].lambda_handler(state, lambda_context)

    assert type(caught.value).__name__ == "TransientError", "the name Step Functions' Retry matches"
    assert _job(table, state["job_id"])["status"] == {"S": "PENDING"}


def test_process_refuses_a_failed_job(tasks: Any, submit: Any, lambda_context: Any) -> None:
    state = tasks["validate"].lambda_handler(submit({"items": [5]}), lambda_context)
    tasks["mark_failed"].lambda_handler({**state, "error": {"Error": "States.Timeout", "Cause": ""}}, lambda_context)

    with pytest.raises(JobStateConflict):
        tasks["process"].lambda_handler(state, lambda_context)


def test_notify_retry_after_completion_publishes_nothing(
    tasks: Any, submit: Any, topic: Any, lambda_context: Any
) -> None:
    state = tasks["validate"].lambda_handler(submit({"items": [1]}), lambda_context)
    processed = tasks["process"].lambda_handler(state, lambda_context)
    tasks["notify"].lambda_handler(processed, lambda_context)

    again = tasks["notify"].lambda_handler(processed, lambda_context)

    assert again["status"] == "COMPLETED" and again["message_id"] is None
    assert len(topic.messages()) == 1


def test_notify_sns_failure_is_transient_and_leaves_the_job_processing(
    tasks: Any, submit: Any, table: Any, lambda_context: Any, inject_fault: Any
) -> None:
    state = tasks["validate"].lambda_handler(submit({"items": [1]}), lambda_context)
    processed = tasks["process"].lambda_handler(state, lambda_context)
    inject_fault("sns", "Publish", client_error("Throttling"))

    with pytest.raises(TransientError):
        tasks["notify"].lambda_handler(processed, lambda_context)

    assert _job(table, state["job_id"])["status"] == {"S": "PROCESSING"}


def test_mark_failed_never_overrides_a_completed_job(tasks: Any, submit: Any, api: Any, lambda_context: Any) -> None:
    state = tasks["validate"].lambda_handler(submit({"items": [1]}), lambda_context)
    tasks["notify"].lambda_handler(tasks["process"].lambda_handler(state, lambda_context), lambda_context)

    output = tasks["mark_failed"].lambda_handler(
        {**state, "error": {"Error": "States.Timeout", "Cause": "late"}}, lambda_context
    )

    assert output["status"] == "COMPLETED"
    assert api("GET", f"/jobs/{state['job_id']}").body["status"] == "COMPLETED"


def test_mark_failed_hides_internal_causes(tasks: Any, submit: Any, api: Any, lambda_context: Any) -> None:
    state = submit({"items": [1]})
    cause = json.dumps(
        {"errorMessage": "KeyError: 'secret'", "errorType": "KeyError", "stackTrace": ['File "/var/task/x.py"']}
    )

    tasks["mark_failed"].lambda_handler({**state, "error": {"Error": "KeyError", "Cause": cause}}, lambda_context)

    job = api("GET", f"/jobs/{state['job_id']}").body
    assert job["status"] == "FAILED"
    assert job["error"] == {"code": "KeyError", "message": "The job could not be processed"}


def _execution_ended(job_id: str, status: str) -> dict[str, Any]:
    """An EventBridge "Step Functions Execution Status Change" event (AWS Step Functions guide,
    "EventBridge for Step Functions execution status changes"); the execution is named after the job."""
    machine = "arn:aws:states:us-west-2:123456789012:stateMachine:serverless-app-local-jobs"
    arn = machine.replace(":stateMachine:", ":execution:") + ":" + job_id
    return {"version": "0", "id": "e1", "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states", "account": "123456789012", "region": "us-west-2", "resources": [arn],
            "detail": {"executionArn": arn, "name": job_id, "status": status, "input": None,
                       "inputDetails": {"included": False},
                       "stateMachineArn": machine}}


@pytest.mark.parametrize(("status", "code"), [("TIMED_OUT", "WorkflowTimedOut"), ("ABORTED", "WorkflowAborted"),
                                              ("FAILED", "WorkflowFailed")])
def test_an_execution_that_ended_without_marking_its_job_fails_the_job(
    tasks: Any, submit: Any, api: Any, lambda_context: Any, status: str, code: str
) -> None:
    """A job left PENDING/PROCESSING by a timed-out, aborted or failed execution ends FAILED."""
    state = submit({"items": [1]})
    tasks["process"].lambda_handler({**state, "operation": "sum"}, lambda_context)  # PROCESSING, stuck
    output = tasks["mark_failed"].lambda_handler(_execution_ended(state["job_id"], status), lambda_context)
    job = api("GET", f"/jobs/{state['job_id']}").body
    assert output == {"job_id": state["job_id"], "status": "FAILED"}
    assert job["status"] == "FAILED" and job["error"] == {"code": code, "message": "The job could not be processed"}


def test_an_execution_end_leaves_a_finished_job_alone(tasks: Any, submit: Any, api: Any, lambda_context: Any) -> None:
    state = submit({"items": [3]})
    processed = tasks["process"].lambda_handler({**state, "operation": "sum"}, lambda_context)
    tasks["notify"].lambda_handler(processed, lambda_context)
    output = tasks["mark_failed"].lambda_handler(_execution_ended(state["job_id"], "TIMED_OUT"), lambda_context)
    assert output["status"] == "COMPLETED" and api("GET", f"/jobs/{state['job_id']}").body["status"] == "COMPLETED"


def test_an_execution_end_of_no_job_is_ignored(tasks: Any, lambda_context: Any) -> None:
    """Not a job's execution, or a job already gone (TTL): nothing to mark, nothing to retry."""
    unknown = tasks["mark_failed"].lambda_handler(_execution_ended("not-a-job-id", "FAILED"), lambda_context)
    gone = tasks["mark_failed"].lambda_handler(
        _execution_ended("01J00000000000000000000000", "TIMED_OUT"), lambda_context)
    assert unknown == {"job_id": None, "status": None}
    assert gone["status"] is None
